"""The injected clock: wall time (aware, for decisions), monotonic time (for waiting), steps."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware wall-clock time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def mono_at(self, when: datetime) -> float:
        """The monotonic reading at which the wall clock will show `when` (if it does not jump)."""
        return wall_to_mono(self, when)


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
