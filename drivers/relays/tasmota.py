"""A Tasmota relay device on the shared MQTT connection: confirmed switching, PulseTime dead-man."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from drivers.protocols.power import load, tasmota_power
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
from drivers.relays.base import RelayDevice, RelayError
from drivers.relays.errors import DeadmanNotConfirmed, MqttRequired, NotConfirmed, Words
from drivers.relays.mqtt_relay import MqttRelay
from drivers.relays.tasmota_probe import SettingsProbe
from drivers.settings.devices import TasmotaRelayConfig
from drivers.transports.mqtt import MqttConnection

Match = Callable[[TasmotaEvent], bool]


def build_tasmota(cfg: TasmotaRelayConfig, mqtt: MqttConnection | None) -> RelayDevice:
    """The registry's factory for `type: tasmota`."""
    if mqtt is None:
        raise MqttRequired(cfg.id, "Tasmota")
    return TasmotaRelay(cfg, mqtt)


class TasmotaRelay(MqttRelay[TasmotaRelayConfig, SettingsProbe, int | None]):
    """One Tasmota device. State changes only when the device reports it (stat/ or tele/).

    ON with a dead-man is confirmed only when the device has answered `PulseTime<n>` with the
    `Set` we sent, and only then is `POWER<n> ON` sent: firmware that drops the command (8-timer
    builds drop PulseTime9+) never gets a relay ON without its timer. Settings that defeat the
    timer (PowerOnState, Interlock) are read each time the device comes online (SettingsProbe).
    """

    DEADMAN = "PulseTime"
    OFFLINE_SIGN = "LWT"

    def __init__(self, cfg: TasmotaRelayConfig, mqtt: MqttConnection) -> None:
        self._codec = TasmotaCodec(
            TasmotaTopics(cfg.topic, cfg.full_topic), cfg.lwt_online, cfg.lwt_offline
        )
        self._waiters: list[tuple[Match, asyncio.Future[TasmotaEvent]]] = []
        self._pulsetime: dict[int, int] = {}
        super().__init__(cfg, mqtt, SettingsProbe(cfg, self._codec, self._publish))

    def settings(self) -> TasmotaSettings | None:
        """The device's settings as read at its last coming online (None: not read yet)."""
        return self._probe.settings if self._probe.read else None

    def pulsetime_s(self, channel: int) -> float | None:
        """The dead-man time the device last reported for `channel` (None: not reported)."""
        raw = self._pulsetime.get(channel)
        return None if raw is None else decode_pulsetime(raw)

    def _subscriptions(self) -> list[str]:
        return self._codec.subscriptions(self._cfg.channels)

    def _plan(self, channel: int, on: bool, deadman_s: float | None) -> int | None:
        """The PulseTime to set before POWER (None: leave it)."""
        if deadman_s is not None:
            return encode_pulsetime(deadman_s)
        if not on and self._probe.read and self._probe.settings.power_on_state == 5:
            return 0  # refused PowerOnState 5 arms the timer on OFF: disarm it first
        return None

    def _deadman_fault(self, channel: int) -> Words | None:
        return self._probe.settings.channel_fault(channel)  # e.g. a timer shared with another

    async def _attempt(self, channel: int, on: bool, pulse: int | None) -> str:
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
                        return f"PulseTime{channel} Set {report.set}, not {pulse}"
                step = "no reply"
                await self._ask(
                    self._codec.power(channel, on),
                    lambda e: (
                        isinstance(e, PowerState) and e.reply and (e.channel, e.on) == (channel, on)
                    ),
                )
        except TimeoutError:
            return step
        return ""

    def _unconfirmed(self, channel: int, on: bool, attempts: int, reason: str) -> RelayError:
        if reason.startswith("PulseTime"):  # POWER never went out
            return DeadmanNotConfirmed(
                self._cfg.id, channel, self.DEADMAN, attempts=attempts, reason=reason
            )
        return NotConfirmed(self._cfg.id, channel, on, attempts)

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

    def _ask_power(self, channel: int) -> None:
        """`Status 8` (Commands docs, Management): StatusSNS, with ENERGY on a metering device."""
        self._publish(*self._codec.command("Status", "8"))

    def _absorb(self, topic: str, payload: bytes, at: datetime) -> None:
        where = self._codec.topics.split(topic)
        if where in (("tele", "SENSOR"), ("stat", "STATUS8")):
            section = "StatusSNS" if where == ("stat", "STATUS8") else None
            self._power.seen(tasmota_power(load(payload), section), at)
        for event in self._codec.parse(topic, payload):
            if isinstance(event, Availability):
                self._on_availability(event.online, at)
            elif isinstance(event, PowerState):
                self._observe(event.channel, event.on, at, "reply" if event.reply else "report")
            elif isinstance(event, PulseTimeReport):
                self._pulsetime[event.channel] = event.set
            self._probe.absorb(event)
            for match, future in list(self._waiters):
                if not future.done() and match(event):
                    future.set_result(event)
