"""An in-memory relay board: confirms after a delay and honours dead-man timers like Tasmota."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import NamedTuple

from drivers.relays.base import ChannelStatus, DeviceHealth, PowerReading, RelayError, SwitchResult
from drivers.relays.common import Configured, known_status
from drivers.relays.errors import check_channel
from drivers.settings.devices import FakeRelayConfig

log = logging.getLogger(__name__)


class FakeCommand(NamedTuple):
    """One switch request as the board received it (`at`: time.monotonic())."""

    at: float
    channel: int
    on: bool


class FakeRelay(Configured[FakeRelayConfig]):
    """A board needing no hardware. Like Tasmota's PulseTime, a dead-man setting is remembered per
    channel: every later ON restarts it until a new `deadman_s` (0 disables) replaces it.

    Tests may put channels in `failing_channels` to make their switches go unconfirmed, and
    give the board a simulated meter: `load_w[channel]` watts drawn while the channel is ON
    (0 when OFF; None, the default, is no meter), `meter_silent` for one that never answers.
    """

    def __init__(self, cfg: FakeRelayConfig) -> None:
        super().__init__(cfg)
        self.commands: list[FakeCommand] = []
        self.failing_channels: set[int] = set()
        self.load_w: dict[int, float] | None = None
        self.meter_silent = False
        created = datetime.now(UTC)
        self._state: dict[int, tuple[bool, datetime]] = {
            ch: (False, created) for ch in range(1, cfg.channels + 1)
        }
        self._deadman_s: dict[int, float] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._last_error: str | None = None
        self._last_seen = created

    async def start(self) -> None:
        """Nothing to open; the board is there."""

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    async def switch(
        self, channel: int, on: bool, *, deadman_s: float | None = None
    ) -> SwitchResult:
        self._check_channel(channel)
        self.commands.append(FakeCommand(time.monotonic(), channel, on))
        if self._cfg.confirm_delay_s > 0:
            await asyncio.sleep(self._cfg.confirm_delay_s)
        if channel in self.failing_channels:
            zh, en = ("开启", "ON") if on else ("关闭", "OFF")
            self._last_error = (
                f"继电器 {self.id} 第{channel}路 未确认{zh} / "
                f"relay {self.id}:{channel} did not confirm {en} (simulated fault)"
            )
            raise RelayError(self._last_error)
        if on and deadman_s is not None:
            if deadman_s < 0:
                raise RelayError(f"定时关闭时间无效 / invalid dead-man time {deadman_s!r}")
            self._deadman_s[channel] = deadman_s
        self._apply(channel, on)
        if on:
            self._arm(channel)
        else:
            self._disarm(channel)
        at = datetime.now(UTC)
        self._last_seen = at
        return SwitchResult(channel, on, "confirmed", at, 1)

    def status(self, channel: int) -> ChannelStatus:
        self._check_channel(channel)
        return known_status(channel, self._state[channel])

    def health(self) -> DeviceHealth:
        return DeviceHealth(True, self._last_error, self._last_seen)

    def power_meter(self) -> FakeRelay | None:  # itself: a PowerMeter while it has a load
        return self if self.load_w is not None else None

    async def read_power(self, channel: int) -> PowerReading | None:
        self._check_channel(channel)
        if self.meter_silent:
            await asyncio.get_running_loop().create_future()  # never answers: the caller bounds it
        on = self._state[channel][0]
        watts = (self.load_w or {}).get(channel, 0.0) if on else 0.0
        return PowerReading(channel, watts, datetime.now(UTC))

    def _apply(self, channel: int, on: bool) -> None:
        if self._state[channel][0] != on:
            self._state[channel] = (on, datetime.now(UTC))

    def _arm(self, channel: int) -> None:
        self._disarm(channel)
        seconds = self._deadman_s.get(channel, 0.0)
        if seconds > 0:
            loop = asyncio.get_running_loop()
            self._timers[channel] = loop.call_later(seconds, self._expire, channel)

    def _disarm(self, channel: int) -> None:
        timer = self._timers.pop(channel, None)
        if timer is not None:
            timer.cancel()

    def _expire(self, channel: int) -> None:
        self._timers.pop(channel, None)
        log.info("fake relay %s:%d: dead-man expired, OFF", self.id, channel)
        self._apply(channel, False)

    def _check_channel(self, channel: int) -> None:
        check_channel(self._cfg.id, channel, self._cfg.channels)
