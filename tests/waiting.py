"""Waiting in wall-clock tests (real peers, a daemon process): for a condition, with a generous
timeout, never a fixed sleep standing in for "by then it will have happened"."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import paho.mqtt.client as paho

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


async def until(condition: Callable[[], T], timeout: float, poll: float = 0.02) -> T:
    """`wait_for` for asyncio tests: the loop keeps running (drivers, connections) while the
    condition is polled; its last answer, so the caller asserts on it."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        await asyncio.sleep(poll)
    return value


def broker_caught_up(client: paho.Client, timeout: float = 5.0) -> bool:
    """A round trip to the broker: a QoS 1 publish to a topic nobody reads, and its PUBACK.

    The broker handles a client's packets in order and the client reads what comes back in
    order, so once the PUBACK is in, everything the broker sent this client before it has been
    handled too: above all what it sends at the SUBSCRIBE (a retained copy). A subscriber that
    has caught up and holds nothing has been sent nothing stale."""
    info = client.publish(f"broadcastctl-test/caught-up/{uuid.uuid4().hex}", b"", qos=1)
    info.wait_for_publish(timeout)
    return info.is_published()
