"""Waiting in wall-clock tests (real peers, a daemon process): for a condition, with a generous
timeout, never a fixed sleep standing in for "by then it will have happened"."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, poll: float = 0.05) -> T:
    """Poll `condition` until it returns something true, at most `timeout` seconds (a bound for
    a loaded machine, not a figure under test); its last answer, so the caller asserts on it."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(poll)
    return value


def seconds_to(moment: datetime, extra_s: float = 0.0) -> float:
    """Seconds from now to `moment` + `extra_s` (never negative): a wait bounded by the moment
    a fixed sleep used to end at."""
    return max((moment - datetime.now(UTC)).total_seconds() + extra_s, 0.0)
