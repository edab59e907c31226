"""A Shelly Gen2+ device on the shared MQTT connection: RPC Switch.Set, toggle_after dead-man."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from datetime import datetime

from drivers.protocols import shelly as rpc
from drivers.protocols.power import load, shelly_apower, shelly_notified
from drivers.relays.base import RelayDevice, RelayError
from drivers.relays.errors import BadTopic, DeadmanNotConfirmed, MqttRequired, NotConfirmed
from drivers.relays.mqtt_relay import MqttRelay, RequestRefused, now
from drivers.relays.shelly_confirm import mismatch, stale_timer
from drivers.relays.shelly_probe import ShellyProbe
from drivers.settings.devices import ShellyRelayConfig
from drivers.transports.mqtt import MqttConnection

_Reply = rpc.RpcResult | rpc.RpcFailure


def default_src(relay_id: str) -> str:
    """Our RPC `src` (the device answers on `<src>/rpc`): one per process and relay."""
    return f"broadcastctl-{os.getpid()}-{re.sub(r'[^A-Za-z0-9_.-]', '_', relay_id)}"


def build_shelly(cfg: ShellyRelayConfig, mqtt: MqttConnection | None) -> RelayDevice:
    """The registry's factory for `type: shelly`."""
    if mqtt is None:
        raise MqttRequired(cfg.id, "Shelly")
    try:
        return ShellyRelay(cfg, mqtt)
    except ValueError as exc:
        raise BadTopic(cfg.id, "topic_prefix", str(exc)) from exc


class ShellyRelay(MqttRelay[ShellyRelayConfig, ShellyProbe, float | None]):
    """One Shelly Gen2+ device; switch:0 is channel 1. State changes only on the device's word.

    Confirmed means: our Switch.Set was answered without error (with `was_on`) AND a
    Switch.GetStatus sent after it reads the output back as requested, with the flip-back timer
    running when a dead-man was asked for and none after OFF. NotifyStatus never confirms: the
    device sends it only on a change (not for ON when already ON), only with `rpc_ntf` on, and
    it cannot be tied to our request; it keeps status() current.
    """

    DEADMAN = "toggle_after"
    OFFLINE_SIGN = "<prefix>/online false"

    def __init__(self, cfg: ShellyRelayConfig, mqtt: MqttConnection, *, src: str | None = None):
        self._codec = rpc.ShellyCodec(
            cfg.topic_prefix, src or default_src(cfg.id), first_id=secrets.randbelow(1 << 30) + 1
        )
        self._pending: dict[int, asyncio.Future[_Reply]] = {}
        self._timers: dict[int, float] = {}  # timer_started_at last confirmed, per channel
        super().__init__(cfg, mqtt, ShellyProbe(cfg, self._codec, self._call))

    @property
    def settings_read(self) -> bool:
        """The device's clock and switch config were read since it last came online."""
        return self._probe.read

    def _subscriptions(self) -> list[str]:
        return self._codec.subscriptions(self._cfg.channels)

    def _plan(self, channel: int, on: bool, deadman_s: float | None) -> float | None:
        """The toggle_after to send with Switch.Set (None: none)."""
        if deadman_s is not None:
            rpc.check_toggle_after(deadman_s)
        return deadman_s

    async def _attempt(self, channel: int, on: bool, toggle_after: float | None) -> str:
        """One Set + GetStatus round within confirm_timeout_s."""
        sent = time.time()
        async with asyncio.timeout(self._cfg.confirm_timeout_s):
            done = await self._call(self._codec.switch_set(channel, on, toggle_after))
            reply = await self._call(self._codec.switch_get_status(channel))
        status = rpc.switch_status(channel, reply.result)
        if status is not None:
            self._see(status, now())
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

    def _unconfirmed(self, channel: int, on: bool, attempts: int, reason: str) -> RelayError:
        if reason.startswith("flip-back timer"):  # the Set went out: ON, maybe without a timer
            return DeadmanNotConfirmed(
                self._cfg.id, channel, self.DEADMAN, attempts=attempts, reason=reason, switched=True
            )
        return NotConfirmed(self._cfg.id, channel, on, attempts, reason)

    async def _call(self, request: rpc.RpcRequest) -> rpc.RpcResult:
        future: asyncio.Future[_Reply] = asyncio.get_running_loop().create_future()
        self._pending[request.id] = future
        try:
            self._mqtt.publish(request.topic, request.payload, qos=1, retain=False)
            reply = await future
        finally:
            self._pending.pop(request.id, None)
        if isinstance(reply, rpc.RpcFailure):
            raise RequestRefused(f"{reply.code}: {reply.message}")
        return reply

    def _ask_power(self, channel: int) -> None:
        """Switch.GetStatus: its `apower` (Switch docs, Status) comes back with the answer."""
        request = self._codec.switch_get_status(channel)
        self._mqtt.publish(request.topic, request.payload, qos=1, retain=False)

    def _absorb(self, topic: str, payload: bytes, at: datetime) -> None:
        if topic == self._codec.events_topic:
            self._power.seen(shelly_notified(load(payload)), at)
        elif topic.startswith(f"{self._codec.topic_prefix}/status/switch:"):
            self._power.seen(shelly_apower(load(payload)), at)
        for event in self._codec.parse(topic, payload):
            if isinstance(event, rpc.RpcResult):
                self._power.seen(shelly_apower(event.result), at)  # a GetStatus answer
            if isinstance(event, rpc.Availability):
                self._on_availability(event.online, at)
            elif isinstance(event, rpc.SwitchReport):
                self._see(event.status, at)  # updates status, never confirms
            else:
                future = self._pending.get(event.id)
                if future is not None and not future.done():
                    future.set_result(event)

    def _see(self, status: rpc.SwitchStatus, at: datetime) -> None:
        self._observe(status.channel, status.output, at, status.source)
