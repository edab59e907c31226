"""The virtual clock: time stands still while anything runs and jumps to the next deadline as
soon as everything waits on the clock, so a 30-second airing takes milliseconds.

"Everything" is the event loop made by `new_loop` (idle: no callback ready, no I/O ready) and
every thread holding an `alarm` (the player's, its decoder helper's, a test thread's), which
counts as running except while it sleeps on it. Real work (ffmpeg decoding a clip, SQLite, a
route in a thread pool while a test thread waits for its answer) therefore takes no virtual
time, and waits on anything but the clock (a real socket, a real `asyncio.sleep`) are not
waited for: they are not for this clock's tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import selectors
import threading
import time
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")
_POLL_S = 0.05  # how often an idle loop looks again while a thread runs (it is also poked)


class VirtualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._cond = threading.Condition()
        self._mono = self._mono0 = 1000.0
        self._wall0 = (start or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
        self._stepped = timedelta(0)
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._sleepers: dict[VirtualAlarm, float] = {}
        self._running = 0  # alarms whose thread runs (not asleep on the clock, not closed)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- readings ---------------------------------------------------------------------------

    def now(self) -> datetime:
        with self._cond:
            return self._wall0 + timedelta(seconds=self._mono - self._mono0) + self._stepped

    def monotonic(self) -> float:
        return self._mono

    def step(self, seconds: float) -> None:
        """The wall clock jumps by `seconds` (NTP's step, an operator's `date -s`)."""
        with self._cond:
            self._stepped += timedelta(seconds=seconds)

    # -- the loop ---------------------------------------------------------------------------

    def new_loop(self) -> asyncio.AbstractEventLoop:
        """An event loop on which this clock advances whenever the loop is idle."""
        selector = _VirtualSelector(self)
        loop = asyncio.SelectorEventLoop(selector)
        selector.loop = self._loop = loop
        return loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """`asyncio.run` on virtual time."""
        with asyncio.Runner(loop_factory=self.new_loop) as runner:
            return runner.run(coro)

    def backend(self) -> Mapping[str, Any]:
        """Options for Starlette's TestClient (`backend_options=`): the app's loop is virtual."""
        return {"loop_factory": self.new_loop}

    # -- the waits --------------------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._mono + max(seconds, 0.0))

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._mono:
            await asyncio.sleep(0)
            return
        await self._timer(deadline)

    async def wait_wall(self, when: datetime, wake: asyncio.Event | None = None) -> bool:
        while (delay := (when - self.now()).total_seconds()) > 0:
            if wake is None:
                await self.sleep(delay)
            elif await self.wait_event(wake, delay):
                return False
        return True

    async def wait_event(self, event: asyncio.Event, timeout: float) -> bool:
        if event.is_set() or timeout <= 0:
            return event.is_set()
        waiter: asyncio.Future[Any] = asyncio.ensure_future(event.wait())
        timer: asyncio.Future[Any] = self._timer(self._mono + timeout)
        try:
            await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()
        return event.is_set()

    def alarm(self) -> VirtualAlarm:
        return VirtualAlarm(self)

    def hold(self) -> VirtualAlarm:
        """For a test thread that is not the loop's: time moves only while it `pause`s."""
        return VirtualAlarm(self)

    def _timer(self, deadline: float) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._cond:
            heapq.heappush(self._timers, (deadline, next(self._order), future))
        return future  # a cancelled one stays in the heap and is skipped

    # -- moving on --------------------------------------------------------------------------

    def _advance(self) -> bool:
        """Called by the idle loop (or, with no loop, by the last thread to fall asleep): jump
        to the next deadline if no thread runs; True if something was woken."""
        with self._cond:
            if self._running > 0:
                return False
            while self._timers and _gone(self._timers[0][2]):
                heapq.heappop(self._timers)
            timers = self._timers[:1] if self._loop is not None else []
            deadlines = [d for d, _, _ in timers] + list(self._sleepers.values())
            if not deadlines:
                return False
            self._mono = max(self._mono, min(deadlines))
            due: list[asyncio.Future[None]] = []
            while timers and self._timers and self._timers[0][0] <= self._mono:
                due.append(heapq.heappop(self._timers)[2])
            for alarm, deadline in list(self._sleepers.items()):
                if deadline <= self._mono:
                    self._wake(alarm)
        for future in due:
            if not future.done():
                future.set_result(None)
        return True

    def _wake(self, alarm: VirtualAlarm) -> None:
        del self._sleepers[alarm]
        self._running += 1
        self._cond.notify_all()

    def _poke(self) -> None:
        """A thread went to sleep (or ended): an idle loop looks again. With no loop (it has
        closed; a player thread is still ending its airing) time moves on from here."""
        loop = self._loop
        if loop is None:
            self._advance()
            return
        with contextlib.suppress(RuntimeError):  # closed: nobody to tell
            loop.call_soon_threadsafe(_nothing)

    def _loop_closed(self, loop: asyncio.AbstractEventLoop | None) -> None:
        with self._cond:
            if loop is not None and self._loop is loop:
                self._loop = None
                self._advance()


class VirtualAlarm:
    """A thread's waits on a VirtualClock (see controller.core.clock.Alarm)."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._set = False
        self._wakeable = True
        self._closed = False
        with clock._cond:
            clock._running += 1

    def set(self) -> None:
        clock = self._clock
        with clock._cond:
            self._set = True
            if self in clock._sleepers and self._wakeable:
                clock._wake(self)

    def clear(self) -> None:
        with self._clock._cond:
            self._set = False

    def is_set(self) -> bool:
        return self._set

    def sleep_until(self, deadline: float, *, precise: bool = False, wakeable: bool = True) -> bool:
        clock = self._clock
        with clock._cond:
            if clock._mono >= deadline:
                return True
            if wakeable and self._set:
                return False
            self._wakeable = wakeable
            clock._sleepers[self] = deadline
            clock._running -= 1
            clock._poke()
            while self in clock._sleepers:
                clock._cond.wait()
            return clock._mono >= deadline

    def pause(self, seconds: float) -> None:
        """A test thread lets `seconds` of virtual time pass."""
        self.sleep_until(self._clock.monotonic() + seconds, wakeable=False)

    def pause_until(self, when: datetime) -> None:
        """A test thread lets virtual time pass until the wall clock shows `when`."""
        while (left := (when - self._clock.now()).total_seconds()) > 0:
            self.pause(left)

    def close(self) -> None:
        clock = self._clock
        with clock._cond:
            if not self._closed:
                self._closed = True
                clock._running -= 1
                clock._poke()

    def __enter__(self) -> VirtualAlarm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _VirtualSelector(selectors.BaseSelector):
    """The loop's selector: where the loop would block, the clock moves on instead."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._inner = selectors.DefaultSelector()
        self.loop: asyncio.AbstractEventLoop | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:  # callbacks are ready: no waiting at all
            return self._inner.select(0)
        began = time.monotonic()
        while True:
            ready = self._inner.select(0)
            if ready:
                return ready
            if self._clock._advance():
                return []  # the woken futures' callbacks are ready now
            left = None if timeout is None else timeout - (time.monotonic() - began)
            if left is not None and left <= 0:
                return []  # a real timer of the loop is due
            ready = self._inner.select(_POLL_S if left is None else min(left, _POLL_S))
            if ready:
                return ready

    def close(self) -> None:
        self._inner.close()
        self._clock._loop_closed(self.loop)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()


def _nothing() -> None:
    pass


def _gone(future: asyncio.Future[None]) -> bool:
    return future.done() or future.get_loop().is_closed()


def run_on(clock: object, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on `clock`'s time: virtual if it is a VirtualClock, else `asyncio.run`."""
    if isinstance(clock, VirtualClock):
        return clock.run(coro)
    return asyncio.run(coro)
