"""A Modbus RTU relay board on a serial bus: confirmed by echo and read-back; board dead-man."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from drivers.protocols.modbus import Request, silent_interval_s
from drivers.protocols.modbus_boards import PROFILES, BoardProfile
from drivers.relays.base import (
    ChannelStatus,
    DeviceHealth,
    PowerMeter,
    RelayError,
    SwitchResult,
)
from drivers.relays.common import Configured, known_status
from drivers.relays.errors import check_channel
from drivers.relays.modbus_link import ModbusLink, ModbusRefused
from drivers.settings.devices import ModbusRtuRelayConfig
from drivers.transports.serial import SerialBus, SerialBuses, SerialError, SerialTimeout

log = logging.getLogger(__name__)

_WATCH_GRACE_S = 0.15  # after a board timer should have fired, ask the board
_WATCH_POLL_S = 0.25
_WATCH_LIMIT_S = 3.0  # still ON this long after its time: the dead-man failed, say so
_PERMANENT = {0x01, 0x02, 0x03}  # the request itself is wrong: re-sending cannot help


def _now() -> datetime:
    return datetime.now(UTC)


def _on_off(on: bool) -> tuple[str, str]:
    return ("开启", "ON") if on else ("关闭", "OFF")


class ModbusRelay(Configured[ModbusRtuRelayConfig]):
    """One board (`unit`) on a bus. State changes only on what the board answers.

    A switch is confirmed when the board echoes the write and a read-back shows the channel in
    the new state. A dead-man is the board's own timer where the profile has one (Waveshare
    timed ON, R421A08 delay); like Tasmota's PulseTime it is remembered per channel and every
    later ON re-arms it. Standard coil boards have no timer, and the driver cannot invent one:
    a channel left ON stays ON if the daemon dies (warned at start and on use).
    """

    def __init__(self, cfg: ModbusRtuRelayConfig, bus: SerialBus) -> None:
        super().__init__(cfg)
        self._link = ModbusLink(bus, f"relay {cfg.id}", cfg.timeout_s)
        self._profile: BoardProfile = PROFILES[cfg.profile]
        self._lock = asyncio.Lock()
        self._state: dict[int, tuple[bool, datetime]] = {}
        self._deadman_s: dict[int, float] = {}
        self._watchers: dict[int, asyncio.Task[None]] = {}
        self._warned: set[int] = set()
        self._last_error: str | None = None

    @property
    def deadman_max_s(self) -> float | None:
        """The longest dead-man the board's timer takes; None: the board has no timer."""
        timed = self._profile.timed_off
        return None if timed is None else timed.max_s

    async def start(self) -> None:
        """Open the port and read the board's state once. Switches nothing."""
        await self._link.bus.attach()
        if self._profile.timed_off is None:
            log.warning(
                "relay %s: %s Modbus board has no device-side timer, so no dead-man: a channel "
                "left ON stays ON if the daemon dies",
                self.id,
                self._profile.name,
            )
        try:
            async with self._lock:
                await self._read_states(range(1, self.channels + 1))
        except (SerialError, ModbusRefused) as exc:
            self._last_error = str(exc)
            log.warning("relay %s: no state at start: %s", self.id, exc)

    async def stop(self) -> None:
        watchers = list(self._watchers.values())
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        self._watchers.clear()
        await self._link.bus.detach()

    async def switch(
        self, channel: int, on: bool, *, deadman_s: float | None = None
    ) -> SwitchResult:
        self._check_channel(channel)
        request, timer_s = self._switch_request(channel, on, deadman_s)
        async with self._lock:
            at, attempt = await self._confirm([request], {channel: on}, str(channel))
        self._watch(channel, timer_s)
        return SwitchResult(channel, on, "confirmed", at, attempt)

    async def switch_many(self, channels: Iterable[int], on: bool) -> list[SwitchResult]:
        """Switch several channels with as few frames as the board allows: one FC0F for
        adjacent coils. Channels with a remembered dead-man get their timed command instead."""
        wanted = sorted(set(channels))
        for channel in wanted:
            self._check_channel(channel)
        timed = [ch for ch in wanted if on and self._deadman_s.get(ch, 0) > 0]
        plain = [ch for ch in wanted if ch not in timed]
        requests = self._profile.write_many(self._cfg.unit, plain, on)
        timers = {ch: self._switch_request(ch, on, None) for ch in timed}
        requests += [request for request, _ in timers.values()]
        async with self._lock:
            label = ",".join(map(str, wanted))
            at, attempt = await self._confirm(requests, dict.fromkeys(wanted, on), label)
        for channel in wanted:
            self._watch(channel, timers[channel][1] if channel in timers else None)
        return [SwitchResult(ch, on, "confirmed", at, attempt) for ch in wanted]

    def status(self, channel: int) -> ChannelStatus:
        self._check_channel(channel)
        if self._link.available is False:
            return ChannelStatus(channel, "unknown", False, self._link.available_since)
        return known_status(channel, self._state.get(channel))

    def health(self) -> DeviceHealth:
        return DeviceHealth(self._link.available, self._last_error, self._link.last_seen)

    def power_meter(self) -> PowerMeter | None:
        return None  # a relay board with no meter: it cannot tell what the amplifier draws

    def _switch_request(
        self, channel: int, on: bool, deadman_s: float | None
    ) -> tuple[Request, float | None]:
        """The frame for this switch and, when it arms the board's timer, its length in s."""
        if on and deadman_s is not None:
            if deadman_s < 0:
                raise RelayError(
                    f"继电器 {self.id} 第{channel}路 定时关闭时间无效 / relay {self.id}:{channel}: "
                    f"invalid dead-man time {deadman_s!r}"
                )
            self._deadman_s[channel] = deadman_s
        seconds = self._deadman_s.get(channel, 0.0) if on else 0.0
        timed = self._profile.timed_off
        # Capped, never refused: a shorter dead-man is safe while the airing runner re-arms
        # within it, and a refusal would leave the zone silent. Said once per channel, as every
        # re-arm would repeat it.
        if seconds > 0 and (timed is None or seconds > timed.max_s) and channel not in self._warned:
            self._warned.add(channel)
            log.warning(
                "relay %s:%d: dead-man of %g s %s",
                self.id,
                channel,
                seconds,
                "asked for, but the board has no timer: ON without one"
                if timed is None
                else f"capped to the board's {timed.max_s:g} s",
            )
        return self._profile.command(self._cfg.unit, channel, on, seconds)

    async def _confirm(
        self, requests: list[Request], expected: dict[int, bool], label: str
    ) -> tuple[datetime, int]:
        on = next(iter(expected.values()))
        zh, en = _on_off(on)
        name = f"{self.id}:{label}"
        attempts = 1 + self._cfg.retries
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                problem = await self._attempt(requests, expected)
                if problem is None:
                    return _now(), attempt
                last = problem
            except SerialTimeout as exc:
                last = str(exc)
            except ModbusRefused as exc:
                if exc.reply.code in _PERMANENT:
                    raise self._fail(
                        f"继电器 {self.id} 第{label}路 未{zh}：设备拒绝（{exc.reply.name}）/ "
                        f"relay {name} not switched {en}: the board answered {exc}"
                    ) from exc
                last = str(exc)
            except SerialError as exc:
                raise self._fail(
                    f"继电器 {self.id} 第{label}路 未{zh}：串口不可用，命令未发送 / relay {name} "
                    f"not switched {en}, command not sent: {exc}"
                ) from exc
            log.warning("relay %s: %s not confirmed (attempt %d): %s", name, en, attempt, last)
        raise self._fail(
            f"继电器 {self.id} 第{label}路 未确认{zh} / relay {name} did not confirm {en} "
            f"after {attempts} attempts: {last}"
        )

    async def _attempt(self, requests: list[Request], expected: dict[int, bool]) -> str | None:
        """Send the writes, then read back: None when the board shows what we asked."""
        for request in requests:
            reply = await self._link.exchange(request)
            if not request.echoed_by(reply):
                return f"reply {reply!r} does not match the request"
        states = await self._read_states(expected)
        wrong = [ch for ch, want in expected.items() if states.get(ch) != want]
        return f"read-back shows channel(s) {wrong} otherwise" if wrong else None

    async def _read_states(self, channels: Iterable[int]) -> dict[int, bool]:
        requests: dict[bytes, Request] = {}
        for channel in channels:
            request = self._profile.read(self._cfg.unit, channel, self.channels)
            requests.setdefault(request.frame, request)
        states: dict[int, bool] = {}
        for request in requests.values():
            states.update(self._profile.states(request, await self._link.exchange(request)))
        now = _now()
        for channel, on in states.items():
            if 1 <= channel <= self.channels and self._state.get(channel, (None,))[0] != on:
                self._state[channel] = (on, now)
        return states

    def _watch(self, channel: int, timer_s: float | None) -> None:
        """Follow an armed board timer: when it should have fired, read the channel back."""
        old = self._watchers.pop(channel, None)
        if old is not None:
            old.cancel()
        if timer_s is not None:
            self._watchers[channel] = asyncio.create_task(self._expect_off(channel, timer_s))

    async def _expect_off(self, channel: int, timer_s: float) -> None:
        await asyncio.sleep(timer_s + _WATCH_GRACE_S)
        give_up = time.monotonic() + _WATCH_LIMIT_S
        while True:
            try:
                async with self._lock:
                    states = await self._read_states([channel])
                if states.get(channel) is False:
                    break
            except (SerialError, ModbusRefused) as exc:
                log.info("relay %s:%d: dead-man check failed: %s", self.id, channel, exc)
            if time.monotonic() > give_up:
                self._fail(
                    f"继电器 {self.id} 第{channel}路 定时关闭未生效 / relay {self.id}:{channel} "
                    f"still ON {_WATCH_LIMIT_S:g} s after its dead-man time"
                )
                break
            await asyncio.sleep(_WATCH_POLL_S)
        if self._watchers.get(channel) is asyncio.current_task():
            del self._watchers[channel]

    def _fail(self, message: str) -> RelayError:
        self._last_error = message
        log.error("%s", message)
        return RelayError(message)

    def _check_channel(self, channel: int) -> None:
        check_channel(self._cfg.id, channel, self._cfg.channels)


def build_modbus(cfg: ModbusRtuRelayConfig, *, buses: SerialBuses | None = None) -> ModbusRelay:
    """The driver for one `type: modbus-rtu` entry; boards on one port must share `buses`."""
    gap_s = silent_interval_s(cfg.baudrate)
    bus = (buses or SerialBuses()).get(cfg.port, cfg.baudrate, gap_s=gap_s)
    return ModbusRelay(cfg, bus)
