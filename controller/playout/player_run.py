"""One airing's state on the player thread, and how its start is placed, judged and told."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from controller.playout.clipstream import ProgramSource
from controller.playout.envelope import Envelope
from controller.playout.meter import LevelWatch
from controller.playout.player_types import (
    AudioStarted,
    ClipFailed,
    ClipStarted,
    EndReason,
    PlayerEvent,
    PlayResult,
    Program,
)
from controller.playout.preroll import FirstBlock
from controller.playout.start_trace import StartTrace
from drivers.audio.base import PcmFormat


@dataclass
class PlayerRun:
    """What the player thread knows about the airing it is playing."""

    program: Program
    src: ProgramSource
    env: Envelope
    trace: StartTrace
    events: list[PlayerEvent]  # from the source; delivered once their block is out
    end: int  # frames the airing will have, brought forward by cuts and stops
    fmt: PcmFormat
    watch: LevelWatch  # the level of what went out: dead air, clipping
    reason: EndReason = "complete"
    prep: FirstBlock | None = None
    taken: bool = False  # the first block was taken from the helper
    written: int = 0
    padded: int = 0  # silence written because the decoder was not ready at the start
    announced: bool = False  # AudioStarted was sent
    sounded: bool = False  # a block of the programme (not stand-in silence) went out
    first: float | None = None  # the first frame's monotonic time
    first_wall: datetime | None = None
    anchor: float = 0.0  # the monotonic time frame 0 is reckoned from
    late: tuple[float, str | None] = (0.0, None)
    cuts: list[tuple[float, float]] = field(default_factory=list)

    def end_early(self, stop: bool, cuts: list[tuple[float, float]], min_ramp: int) -> None:
        """Apply a stop and cuts (at monotonic times, with fades) that came in."""
        rate = self.fmt.sample_rate
        if stop:
            self.end, self.reason = self._shorten(self.written, 0, min_ramp), "stopped"
        for at, fade_s in cuts:
            cut_end = round((at - self.anchor) * rate)
            new_end = self._shorten(cut_end, round(fade_s * rate), min_ramp)
            self.end, self.reason = new_end, "cut" if new_end < self.end else self.reason
        self.cuts = []

    def _shorten(self, new_end: int, fade: int, min_ramp: int) -> int:
        """Bring the end forward to `new_end` with a fade ending on it; returns the end."""
        # What is written is gone: an overdue end still gets the short anti-click ramp.
        written, env = self.written, self.env
        new_end = max(new_end, written + min_ramp)
        if new_end >= self.end:
            return self.end
        if new_end - max(fade, min_ramp) > written:
            env.add(new_end - max(fade, min_ramp), 1.0, new_end)
        else:  # fade over what remains, from wherever the gain is now
            env.add(written, env.gain_at(written), new_end)
        return new_end

    def next_block(self, n: int) -> tuple[bytes, bool]:
        """The next `n` frames and whether they are stand-in silence (decoder not ready)."""
        if self.prep is None or self.taken:
            return self.src.read(n), False
        if not self.prep.done:
            return bytes(n * self.fmt.frame_bytes), True
        block, self.taken = self.prep.take(), True
        self.note_prep()
        if self.padded:  # what the source reports is placed after the silence that aired
            self.src.shift(self.padded)
            self.events[:] = [_shifted(e, self.padded) for e in self.events]
        return block[: n * self.fmt.frame_bytes], False

    def note_prep(self) -> None:
        """Copy the helper's times into the start's trace (once it is done)."""
        assert self.prep is not None
        for phase, at in (("primed", self.prep.primed_at), ("ready", self.prep.ready_at)):
            if at is not None:
                self.trace.mark(phase, at)

    def started_event(self, at: float) -> AudioStarted:
        """Judge the start whose first programme frame went out at `at` (or never, by then)."""
        assert self.first is not None
        self.announced = True
        if self.prep is None or not self.prep.done:
            self.trace.mark("primed", at)  # the decoder never delivered during the airing
        self.trace.mark("written", at)
        self.trace.padded_s = self.padded / self.fmt.sample_rate
        self.trace.gc_end()
        self.late = late_ms, cause = self.trace.verdict()
        return AudioStarted(
            self.first, self.first_wall, self.program.start_mono, late_ms, cause, self.padded
        )

    def result(self, last: float | None, error: str | None, recording: Path | None) -> PlayResult:
        late_ms, cause = self.late
        return PlayResult(
            self.program.label,
            self.first,
            last,
            self.written,
            self.reason,
            tuple(self.src.clips_played) if self.sounded else (),
            tuple(self.src.failures),
            error,
            recording,
            self.fmt.sample_rate,
            self.first_wall,
            late_ms,
            cause,
            self.padded,
            self.watch.silence_s,
            self.watch.clipped_s,
            self.written > self.padded and self.watch.only_silence,
        )

    def drop_unaired(self) -> None:
        """Nothing of the programme aired: what was read ahead is not news (failures are)."""
        if not self.sounded:
            self.events[:] = [e for e in self.events if isinstance(e, ClipFailed)]


def _shifted(event: PlayerEvent, frames: int) -> PlayerEvent:
    if isinstance(event, ClipStarted):
        return replace(event, at_frame=event.at_frame + frames)
    return event


def resolve(future: asyncio.Future[PlayResult], result: PlayResult) -> None:
    """Hand a result to an awaiting event loop (on that loop)."""
    if not future.done():  # the waiter may have been cancelled (daemon stopping)
        future.set_result(result)
