"""The waker: APScheduler 3.x (memory job store, rebuilt from the plan) only wakes the station.

Decisions stay in the pure planner and `decide`; this module knows nothing about slots.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Waker:
    def __init__(self, tz: ZoneInfo) -> None:
        # A wake-up that comes late still runs (the station decides whether to join or record
        # a miss); the 1 s default grace would silently drop it.
        self._scheduler = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"misfire_grace_time": 3600, "coalesce": True, "max_instances": 3},
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def at(self, when: datetime, key: str, job: Job) -> None:
        """Wake `job` at `when`; the same key again replaces the earlier wake-up."""
        self._scheduler.add_job(job, "date", run_date=when, id=f"wake:{key}", replace_existing=True)

    def every(self, seconds: float, job: Job) -> None:
        """A watchdog tick: bounds how late anything can be after a wall-clock jump."""
        self._scheduler.add_job(
            job, "interval", seconds=seconds, id=f"every:{seconds}", replace_existing=True
        )

    def pending(self) -> list[tuple[str, datetime | None]]:
        return [(job.id, job.next_run_time) for job in self._scheduler.get_jobs()]
