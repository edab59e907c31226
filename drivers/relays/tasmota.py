"""A Tasmota relay device on the shared MQTT connection: confirmed switching, PulseTime dead-man."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from controller.config.devices import TasmotaRelayConfig
from drivers.protocols.tasmota import (
    Availability,
    PowerState,
    PulseTimeReport,
    TasmotaCodec,
    TasmotaEvent,
    TasmotaTopics,
    decode_pulsetime,
    encode_pulsetime,
)
from drivers.protocols.tasmota_settings import TasmotaSettings
from drivers.relays.base import (
    ChannelStatus,
    DeviceHealth,
    RelayError,
    RelayUnreachable,
    SwitchResult,
    check_channel,
    settings_refusal,
)
from drivers.relays.tasmota_probe import SettingsProbe
from drivers.transports.mqtt import MqttConnection, MqttUnavailable

log = logging.getLogger(__name__)
Match = Callable[[TasmotaEvent], bool]


def _now() -> datetime:
    return datetime.now(UTC)


def _on_off(on: bool) -> tuple[str, str]:
    return ("开启", "ON") if on else ("关闭", "OFF")


class TasmotaRelay:
    """One Tasmota device. State changes only when the device reports it (stat/ or tele/).

    ON with a dead-man is confirmed only when the device has answered `PulseTime<n>` with the
    `Set` we sent, and only then is `POWER<n> ON` sent: firmware that drops the command (8-timer
    builds drop PulseTime9+) never gets a relay ON without its timer. Settings that defeat the
    timer (PowerOnState, Interlock) are read each time the device comes online (SettingsProbe).
    """

    def __init__(self, cfg: TasmotaRelayConfig, mqtt: MqttConnection) -> None:
        self._cfg = cfg
        self._mqtt = mqtt
        self._codec = TasmotaCodec(
            TasmotaTopics(cfg.topic, cfg.full_topic), cfg.lwt_online, cfg.lwt_offline
        )
        self._state: dict[int, tuple[bool, datetime]] = {}
        self._waiters: list[tuple[Match, asyncio.Future[TasmotaEvent]]] = []
        self._locks = {ch: asyncio.Lock() for ch in range(1, cfg.channels + 1)}
        self._pulsetime: dict[int, int] = {}
        self._probe = SettingsProbe(
            cfg.id,
            cfg.channels,
            self._codec,
            self._publish,
            fix=cfg.fix_settings,
            timeout_s=cfg.confirm_timeout_s,
            retries=cfg.retries,
        )
        self._available: bool | None = None
        self._available_since: datetime | None = None
        self._last_error: str | None = None
        self._last_seen: datetime | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._online_listeners: list[Callable[[], None]] = []

    @property
    def id(self) -> str:
        return self._cfg.id

    @property
    def channels(self) -> int:
        return self._cfg.channels

    async def start(self) -> None:
        """Subscribe to the device's replies, telemetry and LWT. Switches nothing; the settings
        are read once the LWT says the device is online."""
        if self._unsubscribe:
            return
        for topic in self._codec.subscriptions(self._cfg.channels):
            self._unsubscribe.append(self._mqtt.subscribe(topic, self._on_message))
        self._unsubscribe.append(self._mqtt.on_connection_change(self._on_broker))

    def on_online(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on the event loop) each time the device reports itself online."""
        self._online_listeners.append(listener)

    async def stop(self) -> None:
        for remove in self._unsubscribe:
            remove()
        self._unsubscribe.clear()
        await self._probe.stop()

    def settings(self) -> TasmotaSettings | None:
        """The device's settings as read at its last coming online (None: not read yet)."""
        return self._probe.settings if self._probe.read else None

    async def switch(
        self, channel: int, on: bool, *, deadman_s: float | None = None
    ) -> SwitchResult:
        """Command the channel, wait for the device's report, re-send up to cfg.retries times."""
        self._check_channel(channel)
        zh, en = _on_off(on)
        name = f"{self._cfg.id}:{channel}"
        if self._available is False:
            raise self._fail(
                f"继电器 {self._cfg.id} 离线，第{channel}路 未{zh} / "
                f"relay {name} not switched {en}: device offline (LWT)",
                RelayUnreachable,
            )
        pulse = self._pulse(channel, on, deadman_s)
        if on:
            await self._refuse_unsafe(channel, deadman_s is not None)
        elif self._probe.read and self._probe.settings.power_on_state == 5:
            pulse = 0  # refused PowerOnState 5 arms the timer on OFF: disarm it first
        async with self._locks[channel]:
            attempts, miss = 1 + self._cfg.retries, ""
            for attempt in range(1, attempts + 1):
                try:
                    miss, at = await self._attempt(channel, on, pulse)
                except MqttUnavailable as exc:
                    raise self._fail(
                        f"继电器 {self._cfg.id} 第{channel}路 未{zh}："
                        "MQTT 服务器不可达，命令未发送 / "
                        f"relay {name} not switched {en}: MQTT broker unreachable, "
                        "command not sent",
                        RelayUnreachable,
                    ) from exc
                if not miss:
                    return SwitchResult(channel, on, "confirmed", at, attempt)
                log.warning("relay %s: %s unconfirmed (%s, attempt %d)", name, en, miss, attempt)
        if miss.startswith("PulseTime"):
            raise self._fail(
                f"继电器 {self._cfg.id} 第{channel}路 定时关闭未确认，未{zh} / "
                f"relay {name} dead-man (PulseTime) not confirmed after {attempts} attempts "
                f"({miss}), not switched {en}"
            )
        raise self._fail(
            f"继电器 {self._cfg.id} 第{channel}路 未确认{zh} / "
            f"relay {name} did not confirm {en} after {attempts} attempts"
        )

    def status(self, channel: int) -> ChannelStatus:
        self._check_channel(channel)
        if self._available is False:
            return ChannelStatus(channel, "unknown", False, self._available_since)
        known = self._state.get(channel)
        if known is None:
            return ChannelStatus(channel, "unknown", False, None)
        on, since = known
        return ChannelStatus(channel, "on" if on else "off", True, since)

    def health(self) -> DeviceHealth:
        available = self._available if self._mqtt.is_connected else None
        fault = self._probe.fault()
        error = f"{fault[0]} / {fault[1]}" if fault is not None else self._last_error
        return DeviceHealth(available, error, self._last_seen)

    def pulsetime_s(self, channel: int) -> float | None:
        """The dead-man time the device last reported for `channel` (None: not reported)."""
        raw = self._pulsetime.get(channel)
        return None if raw is None else decode_pulsetime(raw)

    def _pulse(self, channel: int, on: bool, deadman_s: float | None) -> int | None:
        if not on or deadman_s is None:
            return None
        try:
            return encode_pulsetime(deadman_s)
        except ValueError as exc:
            raise RelayError(
                f"继电器 {self._cfg.id} 第{channel}路 定时关闭时间无效 / "
                f"relay {self._cfg.id}:{channel}: invalid dead-man time: {exc}"
            ) from exc

    async def _refuse_unsafe(self, channel: int, deadman: bool) -> None:
        """Raise unless the device's settings are read and leave the dead-man working."""
        await self._probe.ready()
        name = f"{self._cfg.id}:{channel}"
        refusal = settings_refusal(
            self._cfg.id, channel, self._probe.fault(), self._probe.read, self._mqtt.is_connected
        )
        if refusal is not None:
            raise self._fail(str(refusal), type(refusal))
        shared = self._probe.settings.channel_fault(channel) if deadman else None
        if shared is not None:
            raise self._fail(
                f"继电器 {self._cfg.id} 第{channel}路 定时关闭未确认，未开启：{shared[0]} / "
                f"relay {name} dead-man (PulseTime) not confirmed, not switched ON: {shared[1]}"
            )

    async def _attempt(self, channel: int, on: bool, pulse: int | None) -> tuple[str, datetime]:
        """One try within confirm_timeout_s: ("", when) if confirmed, else (what is missing, _)."""
        step = f"PulseTime{channel} unanswered" if pulse is not None else "no reply"
        try:
            async with asyncio.timeout(self._cfg.confirm_timeout_s):
                if pulse is not None:
                    report = await self._ask(
                        self._codec.command(f"PulseTime{channel}", str(pulse)),
                        lambda e: isinstance(e, PulseTimeReport) and e.channel == channel,
                    )
                    assert isinstance(report, PulseTimeReport)
                    if report.set != pulse:
                        return f"PulseTime{channel} Set {report.set}, not {pulse}", _now()
                step = "no reply"
                await self._ask(
                    self._codec.power(channel, on),
                    lambda e: (
                        isinstance(e, PowerState) and e.reply and (e.channel, e.on) == (channel, on)
                    ),
                )
        except TimeoutError:
            return step, _now()
        return "", _now()

    async def _ask(self, command: tuple[str, str], match: Match) -> TasmotaEvent:
        """Publish, then wait for the first event `match` accepts (the caller bounds the wait)."""
        future: asyncio.Future[TasmotaEvent] = asyncio.get_running_loop().create_future()
        entry = (match, future)
        self._waiters.append(entry)
        try:
            self._publish(*command)
            return await future
        finally:
            self._waiters.remove(entry)

    def _publish(self, topic: str, payload: str) -> None:
        self._mqtt.publish(topic, payload, qos=1, retain=False)

    def _fail(self, message: str, kind: type[RelayError] = RelayError) -> RelayError:
        self._last_error = message
        log.error("%s", message)
        return kind(message)

    def _check_channel(self, channel: int) -> None:
        check_channel(self._cfg.id, channel, self._cfg.channels)

    def _on_message(self, topic: str, payload: bytes) -> None:
        now = _now()
        self._last_seen = now
        for event in self._codec.parse(topic, payload):
            if isinstance(event, Availability):
                self._on_availability(event.online, now)
            elif isinstance(event, PowerState):
                self._on_power(event, now)
            elif isinstance(event, PulseTimeReport):
                self._pulsetime[event.channel] = event.set
            self._probe.absorb(event)
            for match, future in list(self._waiters):
                if not future.done() and match(event):
                    future.set_result(event)

    def _on_broker(self, connected: bool) -> None:
        if not connected:
            # Cut off from the broker we cannot know; the retained LWT tells again on reconnect.
            self._available = None
            self._probe.forget()
            self._last_error = "MQTT 连接中断 / MQTT connection lost"

    def _on_availability(self, online: bool, now: datetime) -> None:
        if online == self._available:
            return
        log.info("relay %s: device %s", self._cfg.id, "online" if online else "offline")
        self._available, self._available_since = online, now
        for listener in list(self._online_listeners) if online else ():
            listener()
        if online:
            self._probe.restart()  # it may have been reset or reflashed meanwhile
        else:
            self._state.clear()  # it may come back in another state (PowerOnState): ask it again
            self._probe.forget()

    def _on_power(self, event: PowerState, now: datetime) -> None:
        if not 1 <= event.channel <= self._cfg.channels:
            return
        before = self._state.get(event.channel)
        if before is None or before[0] != event.on:
            self._state[event.channel] = (event.on, now)
            log.info(
                "relay %s:%d reported %s", self._cfg.id, event.channel, "ON" if event.on else "OFF"
            )
