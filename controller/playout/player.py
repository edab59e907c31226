"""The player: airs a Program on an AudioOutput on time and for an exact number of frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from controller.core.clock import Alarm, Clock, waiting, wall_at
from controller.playout.clipstream import (
    AudioEnded,
    AudioStarted,
    ClipFailed,
    ClipFinished,
    ClipStarted,
    PlayerEvent,
    PlayerSnapshot,
    PlayResult,
    Program,
    ProgramSource,
)
from controller.playout.decode import ClipDecoder
from controller.playout.envelope import Envelope
from controller.playout.meter import LevelWatch
from controller.playout.player_run import PlayerRun, resolve
from controller.playout.preroll import FirstBlock
from controller.playout.realtime import promote_current_thread
from controller.playout.start_trace import StartTrace
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
_PREP_JOIN_S = 2.0  # ffmpeg start-up is ~80 ms; this long means it hangs (dead NFS mount)


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
        silence_s: float = 10.0,  # monitor.silence_s: longer silence inside a clip is dead air
    ) -> None:
        self._output, self._fmt, self._decoder = output, fmt, decoder
        self._clock, self._on_event, self._silence_s = waiting(clock), on_event, silence_s
        self._block = max(1, fmt.sample_rate * block_ms // 1000)
        # ≥ one block, so a stop or an overdue cut never has to rewrite a block in hand.
        self._min_ramp = max(self._block, fmt.sample_rate * stop_ramp_ms // 1000)
        self._lock = threading.Lock()
        self._alarm: Alarm | None = None  # the player thread's waits; set() wakes it
        self._done = threading.Event()
        self._done.set()
        self._stop = False
        self._cuts: list[tuple[float, float]] = []
        self._result: PlayResult | None = None
        self._snap = PlayerSnapshot("idle")
        self._requested = 0.0  # when start() was called, for the start's trace
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[PlayResult]]] = []

    def start(self, program: Program) -> None:
        with self._lock:
            if not self._done.is_set():
                raise RuntimeError("the player is already airing a program")
            self._done.clear()
            self._stop, self._cuts, self._result = False, [], None
            # Made here, before the thread: a virtual clock stands still until it sleeps.
            self._alarm = alarm = self._clock.alarm()
            self._snap = PlayerSnapshot("preparing", program.label)
            self._requested = self._clock.monotonic()
        name = f"player:{program.label}"
        threading.Thread(target=self._run, args=(program, alarm), name=name, daemon=True).start()

    def cut(self, at_mono: float, fade_s: float = 1.0) -> None:
        """End early with a fade that ends exactly at `at_mono` (e.g. a blackout's start)."""
        with self._lock:
            self._cuts.append((at_mono, fade_s))
            alarm = self._alarm
        if alarm is not None:
            alarm.set()

    def stop(self) -> None:
        """End now, with a ramp of at most 50 ms so the speakers do not click."""
        with self._lock:
            self._stop = True
            alarm = self._alarm
        if alarm is not None:
            alarm.set()

    def wait(self, timeout: float | None = None) -> PlayResult | None:
        """The result of the current (or last) program, or None if it is still airing."""
        return self._result if self._done.wait(timeout) else None

    async def wait_async(self) -> PlayResult:
        """The result, awaited on the event loop: no executor thread is held while it airs."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[PlayResult] = loop.create_future()
        with self._lock:
            if self._done.is_set():
                if self._result is None:
                    raise RuntimeError("the player has not aired anything yet")
                return self._result
            self._waiters.append((loop, future))
        return await future

    def snapshot(self) -> PlayerSnapshot:
        return self._snap  # replaced whole by the player thread, so always self-consistent

    # ---- the player thread -------------------------------------------------------------

    def _run(self, p: Program, alarm: Alarm) -> None:
        try:
            self._play(p, alarm)
        finally:
            alarm.close()  # last: what it reported is on its way to the loop

    def _play(self, p: Program, alarm: Alarm) -> None:
        promote_current_thread()  # before anything, so the wait for T is on an RT timer
        trace = StartTrace(p.start_mono)
        trace.mark("started", self._requested)
        trace.gc_begin()
        events: list[PlayerEvent] = []  # from the source; delivered once their block is out
        src = ProgramSource(p, self._decoder, self._fmt, events.append)
        env = Envelope(self._fmt.channels)
        if p.fade_out_frames:
            env.add(max(0, p.total_frames - p.fade_out_frames), 1.0, p.total_frames)
        watch = LevelWatch(self._fmt.sample_rate, self._silence_s)
        r = PlayerRun(p, src, env, trace, events, p.total_frames, self._fmt, watch)
        end_at = self._clock.monotonic()  # replaced once the airing really ends
        error, recording = None, None
        try:
            self._output.open(self._fmt, p.label)
            trace.mark("opened", self._clock.monotonic())
            try:
                # ffmpeg's start-up (~80 ms, far more on a loaded box) runs beside the wait.
                first_n = min(self._block, p.total_frames)
                r.prep = FirstBlock(src, first_n, self._clock, alarm.set)
                self._snap = PlayerSnapshot("waiting", p.label)
                if self._wait_for_start(r):
                    self._air(r)
                if r.first is not None and not self._output.paced:
                    due = r.anchor + r.written / self._fmt.sample_rate
                    self._sleep_until(due, precise=False, wakeable=False)
            finally:
                # The end is read before reaping ffmpeg (a few ms), but after a card drains.
                try:
                    end_at = self._clock.monotonic()
                    recording = self._output.close()
                    if self._output.paced:
                        end_at = self._clock.monotonic()
                finally:
                    self._release(r)
        except Exception as exc:  # the output died (card gone, disk full): end the airing
            log.exception("airing %s failed", p.label)
            r.reason, error = "error", f"{type(exc).__name__}: {exc}"
        if r.first is not None and not r.announced:  # ended while padding: still say so
            self._programme_started(r, None)
        trace.gc_end()
        last = end_at if r.first is not None else None
        if src.all_failed:
            log.error("airing %s: every clip failed to decode; aired silence", p.label)
        self._flush(events)
        self._flush(r.watch.finish())
        result = r.result(last, error, recording)
        self._snap = PlayerSnapshot("ended", p.label, frames_written=r.written)
        with self._lock:
            self._result = result
            self._done.set()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting
                loop.call_soon_threadsafe(resolve, future, result)
        self._emit(AudioEnded(r.written, r.reason, last))

    def _wait_for_start(self, r: PlayerRun) -> bool:
        """Sleep until the start; False if stopped (or cut) before it."""
        p, news = r.program, False
        while True:
            stop, r.cuts = self._take_requests(r.cuts)
            if stop or any(at <= p.start_mono for at, _ in r.cuts):
                r.end, r.reason = 0, "stopped" if stop else "cut"
                return False
            if r.prep is not None and r.prep.done and not news:
                news = True  # a first clip that failed is news before the start
                r.note_prep()
                self._flush([e for e in r.events if isinstance(e, ClipFailed)])
                r.events[:] = [e for e in r.events if not isinstance(e, ClipFailed)]
            if self._sleep_until(p.start_mono, precise=True):
                r.trace.mark("woke", self._clock.monotonic())
                return True

    def _air(self, r: PlayerRun) -> None:
        rate, fb = self._fmt.sample_rate, self._fmt.frame_bytes
        r.anchor, raw, pad = r.program.start_mono, b"", False
        while True:
            stop, cuts = self._take_requests(r.cuts)
            r.end_early(stop, cuts, self._min_ramp)
            n = min(self._block, r.end - r.written)
            if n <= 0:
                break
            if pad and r.prep is not None and r.prep.done:
                raw = b""  # the decoder caught up: its block replaces the silence in hand
            if raw:
                raw = raw[: n * fb]
            else:
                raw, pad = r.next_block(n)
            # A file or null output takes a block at once: hold each to its air time.
            due = r.anchor + r.written / rate
            if (
                r.first is not None
                and not self._output.paced
                and not self._sleep_until(due, precise=False)
            ):
                continue  # woken by stop/cut: re-plan this block
            pcm = raw if pad else r.env.apply(raw, r.written)
            now = self._clock.monotonic()
            self._output.write(pcm)
            if r.first is None:
                # Later blocks are timed from the real start, so a late start stays
                # late by the same amount instead of being rushed.
                r.first = r.anchor = now
                r.first_wall = wall_at(self._clock, now)
            r.written, raw = r.written + n, b""
            if pad:
                r.padded += n
                continue
            r.sounded = True
            if not r.announced:
                self._programme_started(r, now)
            self._flush(r.events)
            index, path, pos, gap = r.src.position()
            self._flush(r.watch.feed(pcm, r.written - n, n, gap and index is not None))
            snap = PlayerSnapshot("playing", r.program.label, index, path, pos, r.written, gap)
            self._snap = snap
        if r.first is not None and not r.announced:  # ended while padding: still say so
            self._programme_started(r, None)

    def _programme_started(self, r: PlayerRun, at: float | None) -> None:
        started = r.started_event(self._clock.monotonic() if at is None else at)
        if started.late_cause is not None:
            log.warning(
                "airing %s: first frame %.0f ms late: %s",
                r.program.label,
                started.late_ms,
                started.late_cause,
            )
        self._emit(started)

    def _release(self, r: PlayerRun) -> None:
        """Take the source back from the helper and stop decoding."""
        if r.prep is not None and not r.prep.join(_PREP_JOIN_S):
            log.error("airing %s: the first clip's decoder is stuck; killing it", r.program.label)
        r.drop_unaired()
        r.src.close(aired=r.sounded)

    def _take_requests(
        self, cuts: list[tuple[float, float]]
    ) -> tuple[bool, list[tuple[float, float]]]:
        with self._lock:
            assert self._alarm is not None
            self._alarm.clear()  # before reading, so a request made after this wakes us again
            stop, new, self._cuts = self._stop, self._cuts, []
        return stop, cuts + new

    def _sleep_until(self, due: float, precise: bool, wakeable: bool = True) -> bool:
        """Sleep on the monotonic clock; False if a stop/cut woke us first."""
        assert self._alarm is not None
        return self._alarm.sleep_until(due, precise=precise, wakeable=wakeable)

    def _flush(self, events: list[PlayerEvent]) -> None:
        for event in events:
            self._emit(event)
        events.clear()

    def _emit(self, event: PlayerEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a listener's bug must not take the airing down
            log.exception("player event handler failed on %r", event)
