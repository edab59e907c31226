"""The waker: APScheduler 3.x (memory job store, rebuilt from the plan) only wakes the station.

Decisions stay in the pure planner and `decide`; this module knows nothing about slots. Wake
times are wall times, so the waker also watches the wall clock for steps (NTP correcting a
drifted PC) and re-plans at once when it sees one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from controller.clock import Clock, ClockStep, ClockStepWatch, SystemClock

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
StepHook = Callable[[ClockStep], object]  # may return an awaitable, which is run as a task

# Every add/run of a job is an INFO line; a daemon re-plans its wakes every 30 s for months.
for _name in ("apscheduler.scheduler", "apscheduler.executors.default"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class Waker:
    def __init__(
        self,
        tz: ZoneInfo,
        clock: Clock | None = None,
        step_threshold_s: float = 1.0,
        step_poll_s: float = 1.0,
    ) -> None:
        # A wake-up that comes late still runs (the station decides whether to join or record
        # a miss); the 1 s default grace would silently drop it.
        self._scheduler = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"misfire_grace_time": 3600, "coalesce": True, "max_instances": 3},
        )
        self._clock = clock or SystemClock()
        self._watch = ClockStepWatch(self._clock, step_threshold_s)
        self._poll_s = step_poll_s
        self._hooks: list[StepHook] = []
        self._every: dict[str, tuple[float, Job]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._hook_tasks: set[asyncio.Future[object]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.steps: list[ClockStep] = []  # the steps seen, newest last (for health and tests)

    def start(self) -> None:
        """Start waking; call from the event loop the jobs run on."""
        self._loop = asyncio.get_running_loop()
        self._scheduler.start()
        self._watch = ClockStepWatch(self._clock, self._watch.threshold_s)  # a fresh baseline
        self._timers["step-watch"] = self._loop.call_later(self._poll_s, self._poll)
        for key in self._every:
            self._arm(key)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._loop = None

    def at(self, when: datetime, key: str, job: Job) -> None:
        """Wake `job` at `when`; the same key again replaces the earlier wake-up."""
        self._scheduler.add_job(job, "date", run_date=when, id=f"wake:{key}", replace_existing=True)

    def every(self, seconds: float, job: Job) -> None:
        """A watchdog tick on the monotonic clock: it bounds how late anything can be.

        Not an APScheduler interval job: those are reckoned on the wall clock (a step back of
        90 s would hold the watchdog off for two minutes) and log two lines a tick. A tick is
        skipped while the previous one is still running.
        """
        key = f"every:{seconds}"
        self._every[key] = (seconds, job)
        if self._loop is not None:
            self._arm(key)

    def on_clock_step(self, hook: StepHook) -> None:
        """Call `hook(step)` on the event loop whenever the wall clock steps."""
        self._hooks.append(hook)

    def pending(self) -> list[tuple[str, datetime | None]]:
        jobs = [(job.id, job.next_run_time) for job in self._scheduler.get_jobs()]
        return jobs + [(key, None) for key in self._every]

    def check_clock(self) -> ClockStep | None:
        """Look for a wall-clock step now (the poll does this every `step_poll_s`)."""
        step = self._watch.poll()
        if step is not None:
            self._stepped(step)
        return step

    # -- on the event loop ------------------------------------------------------------------

    def _poll(self) -> None:
        if self._loop is None:
            return
        self._timers["step-watch"] = self._loop.call_later(self._poll_s, self._poll)
        self.check_clock()

    def _stepped(self, step: ClockStep) -> None:
        log.warning(
            "wall clock stepped %+.3f s (%s → %s); re-planning wake-ups",
            step.step_s,
            step.wall_before.isoformat(timespec="milliseconds"),
            step.wall_after.isoformat(timespec="milliseconds"),
        )
        self.steps = [*self.steps[-9:], step]
        if self._scheduler.running:
            # APScheduler sleeps on a monotonic timer computed from the wall time of its next
            # job: after a step forward that timer is late by the step. wakeup() recomputes it
            # and runs what is now due.
            self._scheduler.wakeup()
        for key in self._every:  # the watchdog re-plans from the new wall time, now
            self._fire(key)
        for hook in self._hooks:
            try:
                result = hook(step)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._hook_tasks.add(task)  # held, or the loop may drop it mid-way
                    task.add_done_callback(self._hook_tasks.discard)
            except Exception:  # one listener's bug must not stop the others hearing of it
                log.exception("clock-step hook %r failed", hook)

    def _arm(self, key: str) -> None:
        assert self._loop is not None
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        self._timers[key] = self._loop.call_later(self._every[key][0], self._tick, key)

    def _tick(self, key: str) -> None:
        if self._loop is None or key not in self._every:
            return
        self._arm(key)
        self._fire(key)

    def _fire(self, key: str) -> None:
        running = self._running.get(key)
        if running is not None and not running.done():
            return
        task = asyncio.ensure_future(self._guarded(key, self._every[key][1]))
        self._running[key] = task

    async def _guarded(self, key: str, job: Job) -> None:
        try:
            await job()
        except Exception:  # the watchdog must keep ticking after a failed tick
            log.exception("watchdog job %s failed", key)
