"""A Shelly Gen2+ device on the shared MQTT connection: RPC Switch.Set, toggle_after dead-man."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from controller.config.devices import ShellyRelayConfig
from drivers.protocols import shelly as rpc
from drivers.relays.base import (
    ChannelStatus,
    DeviceHealth,
    RelayDevice,
    RelayError,
    RelayUnreachable,
    SwitchResult,
    check_channel,
    settings_refusal,
)
from drivers.relays.shelly_confirm import mismatch, stale_timer
from drivers.relays.shelly_probe import ShellyProbe
from drivers.transports.mqtt import MqttConnection, MqttUnavailable

log = logging.getLogger(__name__)

_Reply = rpc.RpcResult | rpc.RpcFailure


def default_src(relay_id: str) -> str:
    """Our RPC `src` (the device answers on `<src>/rpc`): one per process and relay."""
    return f"broadcastctl-{os.getpid()}-{re.sub(r'[^A-Za-z0-9_.-]', '_', relay_id)}"


def build_shelly(cfg: ShellyRelayConfig, mqtt: MqttConnection | None) -> RelayDevice:
    """The registry's factory for `type: shelly`."""
    from drivers.relays.registry import RelayConfigError  # the registry imports this module

    if mqtt is None:
        raise RelayConfigError(
            f"继电器 {cfg.id} 是 Shelly 设备，需要配置 mqtt 段 / relay {cfg.id} is a Shelly "
            "device and needs the MQTT connection (the `mqtt:` section of config.yaml)"
        )
    try:
        return ShellyRelay(cfg, mqtt)
    except ValueError as exc:
        raise RelayConfigError(
            f"继电器 {cfg.id} 的 topic_prefix 无效 / relay {cfg.id}: {exc}"
        ) from exc


class _DeviceRefused(Exception):
    """The device answered a request with an RPC error (`code: message`)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _on_off(on: bool) -> tuple[str, str]:
    return ("开启", "ON") if on else ("关闭", "OFF")


class ShellyRelay:
    """One Shelly Gen2+ device; switch:0 is channel 1. State changes only on the device's word.

    Confirmed means: our Switch.Set was answered without error (with `was_on`) AND a
    Switch.GetStatus sent after it reads the output back as requested, with the flip-back timer
    running when a dead-man was asked for and none after OFF. NotifyStatus never confirms: the
    device sends it only on a change (not for ON when already ON), only with `rpc_ntf` on, and
    it cannot be tied to our request; it keeps status() current.
    """

    def __init__(self, cfg: ShellyRelayConfig, mqtt: MqttConnection, *, src: str | None = None):
        self._cfg = cfg
        self._mqtt = mqtt
        self._codec = rpc.ShellyCodec(
            cfg.topic_prefix, src or default_src(cfg.id), first_id=secrets.randbelow(1 << 30) + 1
        )
        self._state: dict[int, tuple[bool, datetime]] = {}
        self._pending: dict[int, asyncio.Future[_Reply]] = {}
        self._locks = {ch: asyncio.Lock() for ch in range(1, cfg.channels + 1)}
        self._timers: dict[int, float] = {}  # timer_started_at last confirmed, per channel
        self._probe = ShellyProbe(
            cfg.id,
            cfg.channels,
            self._codec,
            self._call,
            fix=cfg.fix_settings,
            timeout_s=cfg.confirm_timeout_s,
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
        """Subscribe to our replies, the device's notifications and `online`. Switches nothing."""
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

    @property
    def settings_read(self) -> bool:
        """The device's clock and switch config were read since it last came online."""
        return self._probe.read

    async def switch(
        self, channel: int, on: bool, *, deadman_s: float | None = None
    ) -> SwitchResult:
        """Switch.Set, then read back with Switch.GetStatus; re-send up to cfg.retries times."""
        self._check_channel(channel)
        zh, en = _on_off(on)
        name = f"{self._cfg.id}:{channel}"
        toggle_after = deadman_s if on else None
        try:
            if toggle_after is not None:
                rpc.check_toggle_after(toggle_after)
        except ValueError as exc:
            raise self._fail(
                f"继电器 {self._cfg.id} 第{channel}路 定时关闭时间无效 / "
                f"relay {name}: invalid dead-man time: {exc}"
            ) from exc
        if self._available is False:
            raise self._fail(
                f"继电器 {self._cfg.id} 离线，第{channel}路 未{zh} / "
                f"relay {name} not switched {en}: device offline (<prefix>/online false)",
                RelayUnreachable,
            )
        if on:
            await self._refuse_unsafe(channel)
        async with self._locks[channel]:
            attempts, reason = 1 + self._cfg.retries, "no reply"
            for attempt in range(1, attempts + 1):
                try:
                    reason = await self._attempt(channel, on, toggle_after)
                except MqttUnavailable as exc:
                    raise self._fail(
                        f"继电器 {self._cfg.id} 第{channel}路 未{zh}："
                        "MQTT 服务器不可达，命令未发送 / "
                        f"relay {name} not switched {en}: MQTT broker unreachable, "
                        "command not sent",
                        RelayUnreachable,
                    ) from exc
                except _DeviceRefused as exc:
                    raise self._fail(
                        f"继电器 {self._cfg.id} 第{channel}路 未{zh}：设备报错 {exc} / "
                        f"relay {name} not switched {en}: device error {exc}"
                    ) from exc
                except TimeoutError:
                    reason = "no reply"
                else:
                    if not reason:
                        return SwitchResult(channel, on, "confirmed", _now(), attempt)
                log.warning("relay %s: %s unconfirmed (%s, try %d)", name, en, reason, attempt)
        if reason.startswith("flip-back timer"):
            raise self._fail(
                f"继电器 {self._cfg.id} 第{channel}路 定时关闭未确认 / relay {name} dead-man "
                f"(toggle_after) not confirmed after {attempts} attempts ({reason})"
            )
        raise self._fail(
            f"继电器 {self._cfg.id} 第{channel}路 未确认{zh} / "
            f"relay {name} did not confirm {en} after {attempts} attempts ({reason})"
        )

    async def _refuse_unsafe(self, channel: int) -> None:
        """Raise unless the device's switch config was read and leaves OFF meaning OFF."""
        await self._probe.ready()
        refusal = settings_refusal(
            self._cfg.id, channel, self._probe.fault(), self._probe.read, self._mqtt.is_connected
        )
        if refusal is not None:
            raise self._fail(str(refusal), type(refusal))

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

    async def _attempt(self, channel: int, on: bool, toggle_after: float | None) -> str:
        """One Set + GetStatus round within confirm_timeout_s: why it does not confirm, or ""."""
        sent = time.time()
        async with asyncio.timeout(self._cfg.confirm_timeout_s):
            done = await self._call(self._codec.switch_set(channel, on, toggle_after))
            reply = await self._call(self._codec.switch_get_status(channel))
        status = rpc.switch_status(channel, reply.result)
        if status is not None:
            self._observe(status, _now())
        if rpc.was_on(done.result) is None:
            return "Switch.Set result without was_on"
        reason = mismatch(status, on, toggle_after) or self._stale(channel, status, sent)
        if not reason and status is not None and status.timer_started_at is not None:
            self._timers[channel] = status.timer_started_at
        return reason

    def _stale(self, channel: int, status: rpc.SwitchStatus | None, sent: float) -> str:
        started = None if status is None else status.timer_started_at
        if started is None:
            return ""
        return stale_timer(
            started,
            sent,
            self._probe.offset_s,
            self._cfg.timer_tolerance_s,
            self._timers.get(channel),
        )

    async def _call(self, request: rpc.RpcRequest) -> rpc.RpcResult:
        future: asyncio.Future[_Reply] = asyncio.get_running_loop().create_future()
        self._pending[request.id] = future
        try:
            self._mqtt.publish(request.topic, request.payload, qos=1, retain=False)
            reply = await future
        finally:
            self._pending.pop(request.id, None)
        if isinstance(reply, rpc.RpcFailure):
            raise _DeviceRefused(f"{reply.code}: {reply.message}")
        return reply

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
            if isinstance(event, rpc.Availability):
                self._on_availability(event.online, now)
            elif isinstance(event, rpc.SwitchReport):
                self._observe(event.status, now)  # updates status, never confirms
            else:
                future = self._pending.get(event.id)
                if future is not None and not future.done():
                    future.set_result(event)

    def _on_broker(self, connected: bool) -> None:
        if not connected:
            # Cut off from the broker we cannot know; the retained `online` tells again later.
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
            self._probe.restart()  # reset or reconfigured while away: read it again
        else:
            self._state.clear()  # it may come back in another state: ask it again
            self._probe.forget()

    def _observe(self, status: rpc.SwitchStatus, now: datetime) -> None:
        if not 1 <= status.channel <= self._cfg.channels:
            return
        before = self._state.get(status.channel)
        if before is None or before[0] != status.output:
            self._state[status.channel] = (status.output, now)
            word = "ON" if status.output else "OFF"
            log.info("relay %s:%d is %s (%s)", self._cfg.id, status.channel, word, status.source)
