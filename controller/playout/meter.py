"""The level of every block the player writes (peak and RMS), and what it means: dead air (a
clip that is digital silence or near it for longer than `monitor.silence_s`) and clipping.

Counted in frames, like the airing's length, so virtual time and wall-clock steps do not move
it. The programme's own gaps between clips are silence on purpose and are not dead air; the
player says which blocks are gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controller.playout.player_types import Clipping, DeadAir, PlayerEvent

SILENCE_PEAK = 33  # |sample| below this (about -60 dBFS of 16-bit audio) is silence
FULL_SCALE = 32767
CLIP_SHARE = 0.001  # a block with this share of its samples at full scale is clipped


@dataclass(frozen=True)
class Level:
    peak: int  # 0..32768
    rms: float  # 0..32768


def level_of(pcm: bytes) -> Level:
    """Peak and RMS of 16-bit little-endian PCM (any channel count)."""
    samples = np.frombuffer(pcm, dtype="<i2")
    if samples.size == 0:
        return Level(0, 0.0)
    wide = samples.astype(np.int32)
    peak = int(np.abs(wide).max())
    rms = float(np.sqrt(np.mean(np.square(wide, dtype=np.float64))))
    return Level(peak, rms)


class LevelWatch:
    """Fed block by block on the player thread; returns the events a block brings."""

    def __init__(self, rate: int, silence_s: float) -> None:
        self.rate = rate
        self.silence_frames = max(1, round(silence_s * rate))
        self.run = 0  # frames of the silence going on now (programme frames, not gaps)
        self.run_start = 0
        self.dead = False
        self.dead_frames = 0  # in silences that became dead air
        self.sound_frames = 0  # programme frames with sound
        self.clipped_frames = 0
        self.last = Level(0, 0.0)

    @property
    def silence_s(self) -> float:
        return self.dead_frames / self.rate

    @property
    def clipped_s(self) -> float:
        return self.clipped_frames / self.rate

    @property
    def only_silence(self) -> bool:
        """Nothing with sound aired (and something aired)."""
        return self.sound_frames == 0

    def feed(self, pcm: bytes, at_frame: int, frames: int, gap: bool) -> list[PlayerEvent]:
        """A block of `frames` written at airing frame `at_frame`; `gap`: the programme's own
        silence between clips (neither dead air nor its end)."""
        level = self.last = level_of(pcm)
        events: list[PlayerEvent] = []
        if gap:
            return events
        samples = len(pcm) // 2
        at_full = 0 if level.peak < FULL_SCALE else _count_full_scale(pcm)
        if samples and at_full / samples >= CLIP_SHARE:
            if self.clipped_frames == 0:
                events.append(Clipping(at_frame))
            self.clipped_frames += frames
        if level.peak < SILENCE_PEAK:
            if self.run == 0:
                self.run_start = at_frame
            self.run += frames
            if not self.dead and self.run >= self.silence_frames:
                self.dead = True
                events.append(DeadAir(self.run_start, False, 0.0))
            return events
        self.sound_frames += frames
        events += self._end_run()
        return events

    def finish(self) -> list[PlayerEvent]:
        """The airing is over: a dead air going on ends with it."""
        return self._end_run()

    def _end_run(self) -> list[PlayerEvent]:
        run, dead = self.run, self.dead
        self.run, self.dead = 0, False
        if not dead:
            return []
        self.dead_frames += run
        return [DeadAir(self.run_start + run, True, run / self.rate)]


def _count_full_scale(pcm: bytes) -> int:
    samples = np.frombuffer(pcm, dtype="<i2")
    return int(np.count_nonzero((samples >= FULL_SCALE) | (samples <= -FULL_SCALE)))
