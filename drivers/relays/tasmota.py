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
    TasmotaTopics,
    decode_pulsetime,
)
from drivers.relays.base import ChannelStatus, DeviceHealth, RelayError, SwitchResult, check_channel
from drivers.transports.mqtt import MqttConnection, MqttUnavailable

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _on_off(on: bool) -> tuple[str, str]:
    return ("开启", "ON") if on else ("关闭", "OFF")


class TasmotaRelay:
    """One Tasmota device. State changes only when the device reports it (stat/ or tele/)."""

    def __init__(self, cfg: TasmotaRelayConfig, mqtt: MqttConnection) -> None:
        self._cfg = cfg
        self._mqtt = mqtt
        self._codec = TasmotaCodec(
            TasmotaTopics(cfg.topic, cfg.full_topic), cfg.lwt_online, cfg.lwt_offline
        )
        self._state: dict[int, tuple[bool, datetime]] = {}
        self._waiters: dict[int, list[tuple[bool, asyncio.Future[datetime]]]] = {}
        self._locks = {ch: asyncio.Lock() for ch in range(1, cfg.channels + 1)}
        self._pulsetime: dict[int, int] = {}
        self._available: bool | None = None
        self._available_since: datetime | None = None
        self._last_error: str | None = None
        self._last_seen: datetime | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    @property
    def id(self) -> str:
        return self._cfg.id

    @property
    def channels(self) -> int:
        return self._cfg.channels

    async def start(self) -> None:
        """Subscribe to the device's replies, telemetry and LWT. Switches nothing."""
        if self._unsubscribe:
            return
        for topic in self._codec.subscriptions(self._cfg.channels):
            self._unsubscribe.append(self._mqtt.subscribe(topic, self._on_message))
        self._unsubscribe.append(self._mqtt.on_connection_change(self._on_broker))

    async def stop(self) -> None:
        for remove in self._unsubscribe:
            remove()
        self._unsubscribe.clear()

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
                f"relay {name} not switched {en}: device offline (LWT)"
            )
        async with self._locks[channel]:
            attempts = 1 + self._cfg.retries
            for attempt in range(1, attempts + 1):
                future = self._expect(channel, on)
                try:
                    self._send(channel, on, deadman_s)
                    at = await asyncio.wait_for(future, self._cfg.confirm_timeout_s)
                except MqttUnavailable as exc:
                    raise self._fail(
                        f"继电器 {self._cfg.id} 第{channel}路 未{zh}："
                        "MQTT 服务器不可达，命令未发送 / "
                        f"relay {name} not switched {en}: MQTT broker unreachable, command not sent"
                    ) from exc
                except TimeoutError:
                    log.warning("relay %s: no %s confirmation (attempt %d)", name, en, attempt)
                    continue
                finally:
                    self._forget(channel, future)
                return SwitchResult(channel, on, "confirmed", at, attempt)
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
        return DeviceHealth(available, self._last_error, self._last_seen)

    def pulsetime_s(self, channel: int) -> float | None:
        """The dead-man time the device last reported for `channel` (None: not reported)."""
        raw = self._pulsetime.get(channel)
        return None if raw is None else decode_pulsetime(raw)

    def _send(self, channel: int, on: bool, deadman_s: float | None) -> None:
        if on and deadman_s is not None:
            try:
                topic, payload = self._codec.pulsetime(channel, deadman_s)
            except ValueError as exc:
                raise RelayError(
                    f"继电器 {self._cfg.id} 第{channel}路 定时关闭时间无效 / "
                    f"relay {self._cfg.id}:{channel}: invalid dead-man time: {exc}"
                ) from exc
            self._mqtt.publish(topic, payload, qos=1, retain=False)
        topic, payload = self._codec.power(channel, on)
        self._mqtt.publish(topic, payload, qos=1, retain=False)

    def _expect(self, channel: int, on: bool) -> asyncio.Future[datetime]:
        future: asyncio.Future[datetime] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append((on, future))
        return future

    def _forget(self, channel: int, future: asyncio.Future[datetime]) -> None:
        waiters = self._waiters.get(channel, [])
        waiters[:] = [(on, f) for on, f in waiters if f is not future]

    def _fail(self, message: str) -> RelayError:
        self._last_error = message
        log.error("%s", message)
        return RelayError(message)

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

    def _on_broker(self, connected: bool) -> None:
        if not connected:
            # Cut off from the broker we cannot know; the retained LWT tells again on reconnect.
            self._available = None
            self._last_error = "MQTT 连接中断 / MQTT connection lost"

    def _on_availability(self, online: bool, now: datetime) -> None:
        if online == self._available:
            return
        log.info("relay %s: device %s", self._cfg.id, "online" if online else "offline")
        self._available, self._available_since = online, now
        if not online:
            self._state.clear()  # it may come back in another state (PowerOnState): ask it again

    def _on_power(self, event: PowerState, now: datetime) -> None:
        if not 1 <= event.channel <= self._cfg.channels:
            return
        before = self._state.get(event.channel)
        if before is None or before[0] != event.on:
            self._state[event.channel] = (event.on, now)
            log.info(
                "relay %s:%d reported %s", self._cfg.id, event.channel, "ON" if event.on else "OFF"
            )
        if not event.reply:
            return  # telemetry may predate our command: it updates status, never confirms
        for on, future in self._waiters.get(event.channel, []):
            if on == event.on and not future.done():
                future.set_result(now)
