"""The injected clock: wall time (aware, for decisions) and monotonic time (for waiting)."""

from __future__ import annotations

import time
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
