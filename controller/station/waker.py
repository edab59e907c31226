"""The waker: wakes the station at wall-clock instants and on a monotonic watchdog tick.

Decisions stay in the pure planner and `decide`; this module knows nothing about slots. Every
wait is the injected clock's (DESIGN.md §2.11), so the waking path runs on virtual time in
tests. Wake times are wall times, so the waker also watches the wall clock for steps (NTP
correcting a drifted PC) and measures its waits again at once when it sees one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from controller.core.clock import Clock, ClockStep, ClockStepWatch, SystemClock, waiting
from controller.core.stationtime import aware

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
StepHook = Callable[[ClockStep], object]  # may return an awaitable, which is run as a task

# A wake-up that comes late still runs (the station decides whether to join or record a
# miss); one later than this (the wall clock stepped far forward) is dropped: the watchdog's
# reconcile, which a step runs at once, sees to what is due then.
MISFIRE_GRACE_S = 3600.0


class Waker:
    def __init__(
        self,
        tz: ZoneInfo,
        clock: Clock | None = None,
        step_threshold_s: float = 1.0,
        step_poll_s: float = 1.0,
    ) -> None:
        self._tz = tz  # for a naive wake time
        self._clock = waiting(clock or SystemClock())
        self._watch = ClockStepWatch(self._clock, step_threshold_s)
        self._poll_s = step_poll_s
        self._hooks: list[StepHook] = []
        self._wakes: dict[str, tuple[datetime, Job]] = {}
        self._replan = asyncio.Event()  # a new wake, or a step: the wake loop measures again
        self._every: dict[str, tuple[float, Job]] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}  # the waits: wakes, step watch, ticks
        self._running: dict[str, asyncio.Task[None]] = {}  # watchdog jobs, by key
        self._jobs: set[asyncio.Future[object]] = set()  # wake jobs and hooks, held till done
        self.started = False
        self.steps: list[ClockStep] = []  # the steps seen, newest last (for health and tests)

    def start(self) -> None:
        """Start waking; call from the event loop the jobs run on."""
        self.started = True
        self._watch = ClockStepWatch(self._clock, self._watch.threshold_s)  # a fresh baseline
        self._loops["wakes"] = asyncio.create_task(self._wake_loop(), name="waker")
        self._loops["step-watch"] = asyncio.create_task(self._poll_loop(), name="step watch")
        for key in self._every:
            self._arm(key)

    def shutdown(self) -> None:
        self.started = False
        for task in self._loops.values():
            task.cancel()
        self._loops.clear()

    def at(self, when: datetime, key: str, job: Job) -> None:
        """Wake `job` at `when`; the same key again replaces the earlier wake-up."""
        self._wakes[key] = (aware(when, self._tz), job)
        self._replan.set()

    def every(self, seconds: float, job: Job) -> None:
        """A watchdog tick on the monotonic clock: it bounds how late anything can be.

        Reckoned on the monotonic clock, not the wall clock: a step back of 90 s must not
        hold the watchdog off for two minutes. A tick is skipped while the previous one is
        still running.
        """
        key = f"every:{seconds}"
        self._every[key] = (seconds, job)
        if self.started:
            self._arm(key)

    def on_clock_step(self, hook: StepHook) -> None:
        """Call `hook(step)` on the event loop whenever the wall clock steps."""
        self._hooks.append(hook)

    def pending(self) -> list[tuple[str, datetime | None]]:
        wakes = [(f"wake:{key}", when) for key, (when, _) in sorted(self._wakes.items())]
        return wakes + [(key, None) for key in self._every]

    def check_clock(self) -> ClockStep | None:
        """Look for a wall-clock step now (the poll does this every `step_poll_s`)."""
        step = self._watch.poll()
        if step is not None:
            self._stepped(step)
        return step

    # -- on the event loop ------------------------------------------------------------------

    async def _wake_loop(self) -> None:
        while True:
            self._replan.clear()
            if not self._wakes:
                await self._replan.wait()
                continue
            first = min(when for when, _ in self._wakes.values())
            if not await self._clock.wait_wall(first, self._replan):
                continue  # a new wake-up, or the wall clock stepped: measure again
            now = self._clock.now()
            for key, (when, job) in sorted(self._wakes.items(), key=lambda kv: kv[1][0]):
                if when > now:
                    continue
                del self._wakes[key]
                late = (now - when).total_seconds()
                if late > MISFIRE_GRACE_S:
                    log.warning("wake-up %s dropped: %.0f s late", key, late)
                    continue
                self._hold(self._guarded(f"wake:{key}", job))

    async def _poll_loop(self) -> None:
        while True:
            await self._clock.sleep(self._poll_s)
            self.check_clock()

    async def _tick_loop(self, key: str) -> None:
        while key in self._every:
            await self._clock.sleep(self._every[key][0])
            self._fire(key)

    def _stepped(self, step: ClockStep) -> None:
        log.warning(
            "wall clock stepped %+.3f s (%s → %s); re-planning wake-ups",
            step.step_s,
            step.wall_before.isoformat(timespec="milliseconds"),
            step.wall_after.isoformat(timespec="milliseconds"),
        )
        self.steps = [*self.steps[-9:], step]
        # A wait for a wall time is a monotonic sleep of the difference: after a step forward
        # it would be late by the step. Measured again, what is now due runs at once.
        self._replan.set()
        for key in self._every:  # the watchdog re-plans from the new wall time, now
            self._fire(key)
        for hook in self._hooks:
            try:
                result = hook(step)
                if inspect.isawaitable(result):
                    self._hold(result)
            except Exception:  # one listener's bug must not stop the others hearing of it
                log.exception("clock-step hook %r failed", hook)

    def _arm(self, key: str) -> None:
        old = self._loops.pop(key, None)
        if old is not None:
            old.cancel()
        self._loops[key] = asyncio.create_task(self._tick_loop(key), name=f"waker {key}")

    def _fire(self, key: str) -> None:
        running = self._running.get(key)
        if running is not None and not running.done():
            return
        self._running[key] = asyncio.ensure_future(self._guarded(key, self._every[key][1]))

    def _hold(self, work: Awaitable[object]) -> None:
        task = asyncio.ensure_future(work)
        self._jobs.add(task)  # held, or the loop may drop it mid-way
        task.add_done_callback(self._jobs.discard)

    async def _guarded(self, key: str, job: Job) -> None:
        try:
            await job()
        except Exception:  # the watchdog and the wake-ups must go on after a failed job
            log.exception("job %s failed", key)
