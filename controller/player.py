"""The player: airs a Program on an AudioOutput on time and for an exact number of frames."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from controller.clock import Clock
from controller.decode import ClipDecoder
from controller.program import (
    AudioEnded,
    AudioStarted,
    ClipFailed,
    ClipFinished,
    ClipStarted,
    EndReason,
    PlayerEvent,
    PlayerSnapshot,
    PlayResult,
    Program,
    ProgramSource,
)
from drivers.audio.base import AudioOutput, PcmFormat

__all__ = [
    "AudioEnded",
    "AudioStarted",
    "ClipFailed",
    "ClipFinished",
    "ClipStarted",
    "Envelope",
    "PlayResult",
    "Player",
    "PlayerEvent",
    "PlayerSnapshot",
    "Program",
]

log = logging.getLogger(__name__)
_SPIN_S = 0.002


class Envelope:
    """The airing's gain: 1, then linear ramps to 0; the lowest ramp wins, so gain never jumps."""

    def __init__(self, channels: int) -> None:
        self._channels = channels
        self._ramps: list[tuple[int, float, int]] = []  # (first frame, gain there, end frame)

    def add(self, start: int, gain: float, end: int) -> None:
        """Ramp from `gain` at `start` to exactly 0 on frame `end - 1`."""
        self._ramps.append((start, gain, end))

    def gain_at(self, frame: int) -> float:
        return float(self._gains(frame, 1)[0])

    def apply(self, pcm: bytes, first_frame: int) -> bytes:
        n = len(pcm) // (2 * self._channels)
        if all(start >= first_frame + n for start, _, _ in self._ramps):
            return pcm  # the common case: untouched bytes, no numpy round trip
        samples = np.frombuffer(pcm, dtype=np.int16).reshape(n, self._channels)
        faded = np.rint(samples * self._gains(first_frame, n)[:, None])
        return faded.astype(np.int16).tobytes()  # gains ≤ 1, so nothing can clip

    def _gains(self, first_frame: int, n: int) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
        frames = np.arange(first_frame, first_frame + n, dtype=np.float64)
        gains = np.ones(n)
        for start, gain, end in self._ramps:
            span = end - 1 - start
            ramp = gain * (end - 1 - frames) / span if span > 0 else np.zeros(n)
            gains = np.minimum(gains, np.where(frames < start, 1.0, np.clip(ramp, 0.0, 1.0)))
        return gains


class Player:
    """Plays one Program at a time on a dedicated thread; control calls are thread-safe."""

    def __init__(
        self,
        output: AudioOutput,
        fmt: PcmFormat,
        decoder: ClipDecoder,
        clock: Clock,
        on_event: Callable[[PlayerEvent], None],
        block_ms: int = 20,
        stop_ramp_ms: int = 30,
    ) -> None:
        self._output, self._fmt, self._decoder = output, fmt, decoder
        self._clock, self._on_event = clock, on_event
        self._block = max(1, fmt.sample_rate * block_ms // 1000)
        # ≥ one block, so a stop or an overdue cut never has to rewrite a block in hand.
        self._min_ramp = max(self._block, fmt.sample_rate * stop_ramp_ms // 1000)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._stop = False
        self._cuts: list[tuple[float, float]] = []
        self._result: PlayResult | None = None
        self._snap = PlayerSnapshot("idle")

    def start(self, program: Program) -> None:
        with self._lock:
            if not self._done.is_set():
                raise RuntimeError("the player is already airing a program")
            self._done.clear()
            self._stop, self._cuts, self._result = False, [], None
            self._wake.clear()
            self._snap = PlayerSnapshot("preparing", program.label)
        name = f"player:{program.label}"
        threading.Thread(target=self._run, args=(program,), name=name, daemon=True).start()

    def cut(self, at_mono: float, fade_s: float = 1.0) -> None:
        """End early with a fade that ends exactly at `at_mono` (e.g. a blackout's start)."""
        with self._lock:
            self._cuts.append((at_mono, fade_s))
        self._wake.set()

    def stop(self) -> None:
        """End now, with a ramp of at most 50 ms so the speakers do not click."""
        with self._lock:
            self._stop = True
        self._wake.set()

    def wait(self, timeout: float | None = None) -> PlayResult | None:
        """The result of the current (or last) program, or None if it is still airing."""
        return self._result if self._done.wait(timeout) else None

    def snapshot(self) -> PlayerSnapshot:
        return self._snap  # replaced whole by the player thread, so always self-consistent

    # ---- the player thread -------------------------------------------------------------

    def _run(self, p: Program) -> None:
        events: list[PlayerEvent] = []  # from the source; delivered once their block is out
        src = ProgramSource(p, self._decoder, self._fmt, events.append)
        rate, fb = self._fmt.sample_rate, self._fmt.frame_bytes
        env = Envelope(self._fmt.channels)
        reason: EndReason = "complete"
        end, error = p.total_frames, None
        if p.fade_out_frames:
            env.add(max(0, end - p.fade_out_frames), 1.0, end)
        written, first, recording = 0, None, None
        end_at = self._clock.monotonic()  # replaced once the airing really ends
        cuts: list[tuple[float, float]] = []
        try:
            self._output.open(self._fmt, p.label)
            try:
                src.prime()  # ffmpeg's start-up (~80 ms) happens now, not on air
                self._flush(events)  # a first clip that failed is news before the start
                self._snap = PlayerSnapshot("waiting", p.label)
                while True:  # until the start, unless stopped or cut before it
                    stop, cuts = self._take_requests(cuts)
                    if stop or any(at <= p.start_mono for at, _ in cuts):
                        end, reason = 0, "stopped" if stop else "cut"
                        break
                    if self._sleep_until(p.start_mono, precise=True):
                        break
                anchor, raw = p.start_mono, b""
                while True:
                    stop, cuts = self._take_requests(cuts)
                    if stop:
                        end, reason = self._shorten(env, written, end, written, 0), "stopped"
                    for at, fade_s in cuts:
                        cut_end = round((at - anchor) * rate)
                        new_end = self._shorten(env, written, end, cut_end, round(fade_s * rate))
                        end, reason = new_end, "cut" if new_end < end else reason
                    cuts = []
                    n = min(self._block, end - written)
                    if n <= 0:
                        break
                    raw = raw[: n * fb] if raw else src.read(n)
                    # A file or null output takes a block at once: hold each to its air time.
                    due = anchor + written / rate
                    if (
                        first is not None
                        and not self._output.paced
                        and not self._sleep_until(due, precise=False)
                    ):
                        continue  # woken by stop/cut: re-plan this block
                    pcm = env.apply(raw, written)
                    now = self._clock.monotonic()
                    self._output.write(pcm)
                    if first is None:
                        # Later blocks are timed from the real start, so a late start stays
                        # late by the same amount instead of being rushed.
                        first = anchor = now
                        self._emit(AudioStarted(first))
                    written, raw = written + n, b""
                    self._flush(events)
                    index, path, pos, gap = src.position()
                    self._snap = PlayerSnapshot("playing", p.label, index, path, pos, written, gap)
                if first is not None and not self._output.paced:
                    self._sleep_until(anchor + written / rate, precise=False, wakeable=False)
            finally:
                # The end is read before reaping ffmpeg (a few ms), but after a card drains.
                try:
                    end_at = self._clock.monotonic()
                    recording = self._output.close()
                    if self._output.paced:
                        end_at = self._clock.monotonic()
                finally:
                    src.close()
        except Exception as exc:  # the output died (card gone, disk full): end the airing
            log.exception("airing %s failed", p.label)
            reason, error = "error", f"{type(exc).__name__}: {exc}"
        last = end_at if first is not None else None
        if src.all_failed:
            log.error("airing %s: every clip failed to decode; aired silence", p.label)
        self._flush(events)
        self._result = PlayResult(
            p.label,
            first,
            last,
            written,
            reason,
            tuple(src.clips_played),
            tuple(src.failures),
            error,
            recording,
        )
        self._snap = PlayerSnapshot("ended", p.label, frames_written=written)
        self._done.set()
        self._emit(AudioEnded(written, reason, last))

    def _shorten(self, env: Envelope, written: int, end: int, new_end: int, fade: int) -> int:
        """Bring the end forward to `new_end` with a fade ending on it; returns the end."""
        # What is written is gone: an overdue end still gets the short anti-click ramp.
        new_end = max(new_end, written + self._min_ramp)
        if new_end >= end:
            return end
        if new_end - max(fade, self._min_ramp) > written:
            env.add(new_end - max(fade, self._min_ramp), 1.0, new_end)
        else:  # fade over what remains, from wherever the gain is now
            env.add(written, env.gain_at(written), new_end)
        return new_end

    def _take_requests(
        self, cuts: list[tuple[float, float]]
    ) -> tuple[bool, list[tuple[float, float]]]:
        with self._lock:
            self._wake.clear()  # before reading, so a request made after this wakes us again
            stop, new, self._cuts = self._stop, self._cuts, []
        return stop, cuts + new

    def _sleep_until(self, due: float, precise: bool, wakeable: bool = True) -> bool:
        """Sleep on the monotonic clock; False if a stop/cut woke us first."""
        while True:
            left = due - self._clock.monotonic()
            if left <= 0:
                return True
            if wakeable and self._wake.is_set():
                return False
            if precise and left < _SPIN_S:
                # Timer wake-ups can be a millisecond late; the last stretch is cheaper to spin.
                while self._clock.monotonic() < due:
                    pass
                return True
            (self._wake.wait if wakeable else time.sleep)(left - _SPIN_S if precise else left)

    def _flush(self, events: list[PlayerEvent]) -> None:
        for event in events:
            self._emit(event)
        events.clear()

    def _emit(self, event: PlayerEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a listener's bug must not take the airing down
            log.exception("player event handler failed on %r", event)
