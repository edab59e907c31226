"""The power readings of one MQTT relay device: the latest per channel, and a query's wait for
the next one (an answer to it, or a report the device sent by itself meanwhile)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

from drivers.protocols.power import DEVICE
from drivers.relays.base import PowerReading
from drivers.transports.mqtt import MqttUnavailable


class PowerReadings:
    def __init__(self, channels: int) -> None:
        self._channels = channels
        self._latest: dict[int, PowerReading] = {}
        self._waiters: list[tuple[int, asyncio.Future[PowerReading]]] = []

    def latest(self, channel: int) -> PowerReading | None:
        """The last reading for `channel` (or for the whole device), None before any."""
        return self._latest.get(channel) or self._latest.get(DEVICE)

    def seen(self, by_channel: Mapping[int, float], at: datetime) -> None:
        """The device reported watts by channel (DEVICE: one figure for all of them)."""
        for channel, watts in by_channel.items():
            if channel != DEVICE and not 1 <= channel <= self._channels:
                continue  # a list longer than the relays: not ours to keep
            self._latest[channel] = PowerReading(channel, watts, at)
            for wanted, future in self._waiters:
                if not future.done() and channel in (wanted, DEVICE):
                    future.set_result(PowerReading(wanted, watts, at))

    def forget(self) -> None:
        """The device went offline: what it said before is no reading of now."""
        self._latest.clear()

    async def next(
        self, channel: int, ask: Callable[[], None], timeout_s: float
    ) -> PowerReading | None:
        """Call `ask` (publish the query), then wait at most `timeout_s` for the next reading
        of `channel`; None when none came (or `ask` raised: the query was not sent)."""
        future: asyncio.Future[PowerReading] = asyncio.get_running_loop().create_future()
        entry = (channel, future)
        self._waiters.append(entry)
        try:
            ask()
            async with asyncio.timeout(timeout_s):
                return await future
        except (TimeoutError, MqttUnavailable):
            return None
        finally:
            self._waiters.remove(entry)
