"""The injected clock: wall time (aware, for decisions), monotonic time, the waits, steps.

Waiting is the clock's job (DESIGN.md §2.11): nothing that decides when the air changes sleeps
on its own, so the same code runs on the system clock and, in tests, on a virtual one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

SPIN_S = 0.002  # a precise thread wait spins this last stretch: timer wake-ups can be late


class Clock(Protocol):
    """The readings: enough for whatever only stamps or compares times (the stores)."""

    def now(self) -> datetime:
        """Aware wall-clock time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""


class Alarm(Protocol):
    """One worker thread's waits on the clock, and how another thread wakes it early.

    Made before the thread starts and closed when it ends: a virtual clock stands still while
    the thread runs and moves on only while it sleeps here.
    """

    def set(self) -> None:
        """Wake the thread now (from any thread); it stays set until `clear`."""

    def clear(self) -> None: ...

    def is_set(self) -> bool: ...

    def sleep_until(self, deadline: float, *, precise: bool = False, wakeable: bool = True) -> bool:
        """Sleep until the monotonic `deadline`; False if `set` woke it first (when wakeable).
        `precise` spends the last stretch spinning, for a start on the exact frame."""

    def close(self) -> None:
        """The thread is done with the clock."""


@runtime_checkable
class WaitingClock(Clock, Protocol):
    """The readings and the waits."""

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, deadline: float) -> None:
        """Until the monotonic reading `deadline`."""

    async def wait_wall(self, when: datetime, wake: asyncio.Event | None = None) -> bool:
        """Until the wall clock shows `when`: True then, False if `wake` was set first (a wall
        step, say: the caller measures again)."""

    async def wait_event(self, event: asyncio.Event, timeout: float) -> bool:
        """Wait for `event` at most `timeout` seconds; True if it is set."""

    def alarm(self) -> Alarm:
        """The waits of a worker thread about to start (the player's, its decoder's)."""


def waiting(clock: Clock) -> WaitingClock:
    """`clock` itself if it waits, else its readings with real waits (a test's fixed clock)."""
    return clock if isinstance(clock, WaitingClock) else RealWaits(clock)


class _RealWaits:
    """Waits on the running event loop's timers and on thread events, in real time."""

    def now(self) -> datetime:
        raise NotImplementedError

    def monotonic(self) -> float:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(deadline - self.monotonic(), 0.0))

    async def wait_wall(self, when: datetime, wake: asyncio.Event | None = None) -> bool:
        # Measured again after each sleep: the wall clock may have been slewed or stepped.
        while (delay := (when - self.now()).total_seconds()) > 0:
            if wake is None:
                await asyncio.sleep(delay)
            elif await self.wait_event(wake, delay):
                return False
        return True

    async def wait_event(self, event: asyncio.Event, timeout: float) -> bool:
        # Not `asyncio.wait_for`: on Python 3.11 that swallows a cancellation arriving as the
        # event is set (CPython gh-86296).
        if not event.is_set() and timeout > 0:
            try:
                async with asyncio.timeout(timeout):
                    await event.wait()
            except TimeoutError:
                pass
        return event.is_set()

    def alarm(self) -> Alarm:
        return _RealAlarm(self)


class RealWaits(_RealWaits):
    """Another clock's readings with real waits."""

    def __init__(self, readings: Clock) -> None:
        self.readings = readings

    def now(self) -> datetime:
        return self.readings.now()

    def monotonic(self) -> float:
        return self.readings.monotonic()


class SystemClock(_RealWaits):
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def mono_at(self, when: datetime) -> float:
        """The monotonic reading at which the wall clock will show `when` (if it does not jump)."""
        return wall_to_mono(self, when)


class _RealAlarm:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def sleep_until(self, deadline: float, *, precise: bool = False, wakeable: bool = True) -> bool:
        while True:
            left = deadline - self._clock.monotonic()
            if left <= 0:
                return True
            if wakeable and self._event.is_set():
                return False
            if precise and left < SPIN_S:
                while self._clock.monotonic() < deadline:
                    pass
                return True
            wait = left - SPIN_S if precise else left
            (self._event.wait if wakeable else time.sleep)(wait)

    def close(self) -> None:
        pass


def wall_to_mono(clock: Clock, when: datetime) -> float:
    return clock.monotonic() + (when - clock.now()).total_seconds()


def mono_to_wall(clock: Clock, mono: float) -> datetime:
    return clock.now() + timedelta(seconds=mono - clock.monotonic())


def wall_at(clock: Clock, mono: float) -> datetime:
    """Like mono_to_wall, from a reading that no preemption split (bracketed, retried).

    A thread descheduled between the wall and the monotonic read skews the pair by that long;
    125 ms was seen on the event loop under CPU load.
    """
    for _ in range(3):
        before = clock.monotonic()
        wall = clock.now()
        after = clock.monotonic()
        if after - before < 0.001:
            break
    return wall - timedelta(seconds=(before + after) / 2 - mono)


@dataclass(frozen=True)
class ClockStep:
    """The wall clock moved `step_s` more (or less, if negative) than the monotonic clock."""

    step_s: float
    wall_before: datetime  # the wall clock at the last reading before the step
    wall_after: datetime
    mono: float  # the monotonic reading at which the step was seen


class ClockStepWatch:
    """Compares wall and monotonic time between readings to see the wall clock step.

    NTP slews small errors (at most 0.5 ms per second), so anything near `threshold_s` between
    two readings is a step: an `ntpdate`, chrony's `makestep`, an operator's `date -s`.
    Pure: it reads only the injected clock, when `poll` is called.
    """

    def __init__(self, clock: Clock, threshold_s: float = 1.0) -> None:
        self._clock = clock
        self.threshold_s = threshold_s
        self._wall = clock.now()
        self._mono = clock.monotonic()

    def poll(self) -> ClockStep | None:
        """A step since the last poll, if there was one; the baseline moves on either way."""
        mono, wall = self._clock.monotonic(), self._clock.now()
        step = (wall - self._wall).total_seconds() - (mono - self._mono)
        before, self._wall, self._mono = self._wall, wall, mono
        if abs(step) <= self.threshold_s:
            return None
        return ClockStep(step, before, wall, mono)
