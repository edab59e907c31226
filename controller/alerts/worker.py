"""A thread of the notifier's own that runs blocking calls for the event loop, one at a time.

The notifier never blocks the loop the airings run on: its database writes and its network
sends run here. A database call holds the clock while it runs (a virtual clock waits for it,
as for the as-run writer); a send does not: a receiver that never answers must not hold up
time for anything else (DESIGN.md §2.10), so the send is bounded by its socket timeout only.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from controller.core.clock import Alarm, WaitingClock

log = logging.getLogger(__name__)
T = TypeVar("T")
_Job = tuple[Callable[[], Any], asyncio.Future[Any], asyncio.AbstractEventLoop, Alarm | None]


class Worker:
    def __init__(self, name: str, clock: WaitingClock, *, holds_clock: bool) -> None:
        self._clock = clock
        self._holds = holds_clock
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        # A daemon thread: one stuck in a send never keeps the process from exiting.
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        alarm = self._clock.alarm() if self._holds else None
        self._jobs.put((lambda: fn(*args, **kw), future, loop, alarm))
        return await future

    def close(self) -> None:
        """No more jobs; a job running now ends on its own (bounded by its timeout)."""
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future, loop, alarm = job
            try:
                result, error = fn(), None
            except BaseException as exc:  # handed to the awaiting task, never lost here
                result, error = None, exc
            try:
                loop.call_soon_threadsafe(_settle, future, result, error, alarm)
            except RuntimeError:  # the loop has closed: nobody waits for the answer
                log.debug("%s: answer after the loop closed", self._thread.name)
                if alarm is not None:
                    alarm.close()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None,
            alarm: Alarm | None) -> None:  # fmt: skip
    """On the loop: the answer first, then the clock let go. Closed from the worker thread, a
    virtual clock could move on between the loop finding nothing ready and the answer
    arriving, and time would pass during a call that takes none."""
    try:
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
    finally:
        if alarm is not None:
            alarm.close()

