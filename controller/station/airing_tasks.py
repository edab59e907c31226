"""An airing's background tasks (dead-man re-arm, blackout cuts), kept so none outlives it.

Cancelling a task is a request, not a guarantee: on Python 3.11 `asyncio.wait_for` returns the
result and drops the cancellation when the awaited future completes in the same loop step
(CPython gh-86296), and a driver may do the same by accident. So every task gets a stop event
it checks between steps, is cancelled as well, and is awaited until it has really finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from controller.core.clock import Clock, SystemClock, waiting

log = logging.getLogger(__name__)

# A task still running this long after it was told to stop is reported, not waited on for
# ever: the airing must still switch its zones off.
HALT_GRACE_S = 15.0

Work = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Background:
    task: asyncio.Task[None]
    stop: asyncio.Event


class AiringTasks:
    def __init__(self, clock: Clock | None = None, grace_s: float = HALT_GRACE_S) -> None:
        self._clock = waiting(clock or SystemClock())
        self._running: list[Background] = []
        self._grace_s = grace_s
        self.leaked: list[str] = []  # names of tasks that ignored the stop (for health and tests)

    def spawn(self, work: Work, name: str) -> Background:
        """Start `work(stop)`; it must return soon after `stop` is set."""
        stop = asyncio.Event()
        bg = Background(asyncio.create_task(work(stop), name=name), stop)
        self._running.append(bg)
        return bg

    @property
    def alive(self) -> list[str]:
        return [bg.task.get_name() for bg in self._running if not bg.task.done()]

    async def halt(self, bg: Background) -> None:
        """Stop one task and wait until it has finished (a cancellation of the caller while
        waiting is passed on to the task and re-raised once the task is over)."""
        bg.stop.set()
        bg.task.cancel()
        cancelled = False
        finished = asyncio.Event()
        bg.task.add_done_callback(lambda _: finished.set())
        deadline = self._clock.monotonic() + self._grace_s
        while not bg.task.done():
            left = deadline - self._clock.monotonic()
            if left <= 0:
                name = bg.task.get_name()
                log.error("airing task %r ignored its stop for %.0f s", name, self._grace_s)
                self.leaked.append(name)
                break
            try:
                await self._clock.wait_event(finished, left)
            except asyncio.CancelledError:
                cancelled = True
                bg.task.cancel()
        if bg.task.done() and not bg.task.cancelled() and bg.task.exception() is not None:
            log.error("airing task %r failed", bg.task.get_name(), exc_info=bg.task.exception())
        if bg in self._running and bg.task.done():
            self._running.remove(bg)
        if cancelled:
            raise asyncio.CancelledError

    async def close(self) -> None:
        """Stop every task of the airing and wait for each."""
        for bg in list(self._running):
            await self.halt(bg)
