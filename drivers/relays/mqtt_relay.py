"""What every MQTT relay driver shares; a driver adds only its protocol (topics, payloads, the
confirmation of one attempt, the specifics of its dead-man)."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar, Generic, TypeVar

from drivers.relays.base import (
    ChannelStatus,
    DeviceHealth,
    PowerMeter,
    PowerReading,
    RelayError,
    SwitchResult,
)
from drivers.relays.common import Configured, known_status
from drivers.relays.errors import (
    MQTT_LOST,
    BrokerUnreachable,
    DeadmanNotConfirmed,
    DeviceRefused,
    InvalidDeadman,
    RelayOffline,
    Words,
    check_channel,
    on_off,
    say,
    settings_refusal,
)
from drivers.relays.power_readings import PowerReadings
from drivers.relays.probe_base import DeviceProbe, ProbeConfig
from drivers.transports.mqtt import MqttConnection, MqttUnavailable

Config = TypeVar("Config", bound=ProbeConfig)
Probe = TypeVar("Probe", bound=DeviceProbe)
Plan = TypeVar("Plan")  # what a driver sends with a switch besides ON/OFF (its dead-man)


class RequestRefused(Exception):
    """The device answered a request with an error (`code: message`): asking again won't help."""


def now() -> datetime:
    return datetime.now(UTC)


class MqttRelay(Configured[Config], ABC, Generic[Config, Probe, Plan]):
    """One MQTT relay device. State changes only when the device reports it; it counts as
    available only while the broker is reachable and the device's own online message says so;
    its settings are read by `Probe` each time it comes online, and ON is refused until they
    are read and safe.

    A driver sets DEADMAN (the timer's name on the device) and OFFLINE_SIGN (how the device
    says it is gone) and writes: `_subscriptions`, `_absorb` (the device's messages, calling
    `_on_availability` and `_observe`), `_plan` (the dead-man to send), `_attempt` (one
    confirmed try) and `_unconfirmed` (the error when every try missed).
    """

    DEADMAN: ClassVar[str]
    OFFLINE_SIGN: ClassVar[str]

    def __init__(self, cfg: Config, mqtt: MqttConnection, probe: Probe) -> None:
        super().__init__(cfg)
        self._mqtt = mqtt
        self._probe = probe
        self._log = logging.getLogger(type(self).__module__)
        self._state: dict[int, tuple[bool, datetime]] = {}
        self._locks = {ch: asyncio.Lock() for ch in range(1, cfg.channels + 1)}
        self._available: bool | None = None
        self._available_since: datetime | None = None
        self._last_error: str | None = None
        self._last_seen: datetime | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._online_listeners: list[Callable[[], None]] = []
        self._power = PowerReadings(cfg.channels)

    async def start(self) -> None:
        """Subscribe to the device's replies, reports and online message. Switches nothing; the
        settings are read once the device says it is online."""
        if self._unsubscribe:
            return
        for topic in self._subscriptions():
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

    async def switch(
        self, channel: int, on: bool, *, deadman_s: float | None = None
    ) -> SwitchResult:
        """Command the channel, wait for the device to confirm it, re-send up to cfg.retries
        times. A command that could not be sent is dropped, never queued."""
        check_channel(self._cfg.id, channel, self._cfg.channels)
        try:
            plan = self._plan(channel, on, deadman_s if on else None)
        except ValueError as exc:
            raise InvalidDeadman(self._cfg.id, channel, str(exc)) from exc
        if self._available is False:
            raise self._fail(RelayOffline(self._cfg.id, channel, on, self.OFFLINE_SIGN))
        if on:
            await self._refuse_unsafe(channel, deadman_s is not None)
        async with self._locks[channel]:
            attempts, reason = 1 + self._cfg.retries, "no reply"
            for attempt in range(1, attempts + 1):
                try:
                    reason = await self._attempt(channel, on, plan)
                except MqttUnavailable as exc:
                    raise self._fail(BrokerUnreachable(self._cfg.id, channel, on)) from exc
                except RequestRefused as exc:  # an answer: nothing to retry
                    raise self._fail(DeviceRefused(self._cfg.id, channel, on, str(exc))) from exc
                except TimeoutError:
                    reason = "no reply"
                if not reason:
                    return SwitchResult(channel, on, "confirmed", now(), attempt)
                name, en = f"{self._cfg.id}:{channel}", on_off(on)[1]
                self._log.warning(
                    "relay %s: %s unconfirmed (%s, attempt %d)", name, en, reason, attempt
                )
        raise self._fail(self._unconfirmed(channel, on, attempts, reason))

    def status(self, channel: int) -> ChannelStatus:
        check_channel(self._cfg.id, channel, self._cfg.channels)
        if self._available is False:
            return ChannelStatus(channel, "unknown", False, self._available_since)
        return known_status(channel, self._state.get(channel))

    def health(self) -> DeviceHealth:
        available = self._available if self._mqtt.is_connected else None
        fault = self._probe.fault()
        error = say(*fault) if fault is not None else self._last_error
        return DeviceHealth(available, error, self._last_seen)

    def power_meter(self) -> PowerMeter | None:
        return self  # whether a reading ever comes depends on the device's hardware

    def power_seen(self, channel: int) -> PowerReading | None:
        """The last reading the device gave for `channel` (an answer or a report of its own)."""
        return self._power.latest(channel)

    async def read_power(self, channel: int) -> PowerReading | None:
        """Ask the device for `channel`'s power; None when no answer came in time."""
        check_channel(self._cfg.id, channel, self._cfg.channels)
        if self._available is False:
            return None
        return await self._power.next(
            channel, lambda: self._ask_power(channel), self._cfg.confirm_timeout_s
        )

    # --- the protocol ----------------------------------------------------------------------

    @abstractmethod
    def _subscriptions(self) -> list[str]:
        """Every topic the device answers or reports on."""

    @abstractmethod
    def _absorb(self, topic: str, payload: bytes, at: datetime) -> None:
        """A message from the device, received `at`."""

    @abstractmethod
    def _plan(self, channel: int, on: bool, deadman_s: float | None) -> Plan:
        """The dead-man to send with this switch; ValueError when the device cannot run it."""

    @abstractmethod
    async def _attempt(self, channel: int, on: bool, plan: Plan) -> str:
        """One try within confirm_timeout_s: "" when confirmed, else what was missing.
        May raise TimeoutError ("no reply"), MqttUnavailable or RequestRefused."""

    @abstractmethod
    def _unconfirmed(self, channel: int, on: bool, attempts: int, reason: str) -> RelayError:
        """The error when every attempt missed, the last for `reason`."""

    @abstractmethod
    def _ask_power(self, channel: int) -> None:
        """Publish the device's query for `channel`'s power (MqttUnavailable: not sent)."""

    def _deadman_fault(self, channel: int) -> Words | None:
        """Why this channel's dead-man cannot work on this device as it is set up (None: it can)."""
        return None

    # --- shared bookkeeping ------------------------------------------------------------------

    async def _refuse_unsafe(self, channel: int, deadman: bool) -> None:
        """Raise unless the device's settings are read and leave the dead-man and OFF working."""
        await self._probe.ready()
        refusal = settings_refusal(
            self._cfg.id, channel, self._probe.fault(), self._probe.read, self._mqtt.is_connected
        )
        if refusal is not None:
            raise self._fail(refusal)
        fault = self._deadman_fault(channel) if deadman else None
        if fault is not None:
            raise self._fail(DeadmanNotConfirmed(self._cfg.id, channel, self.DEADMAN, cause=fault))

    def _fail(self, error: RelayError) -> RelayError:
        self._last_error = str(error)
        self._log.error("%s", error)
        return error

    def _on_message(self, topic: str, payload: bytes) -> None:
        at = now()
        self._last_seen = at
        self._absorb(topic, payload, at)

    def _on_broker(self, connected: bool) -> None:
        if not connected:
            # Cut off from the broker we cannot know; the retained online message tells again.
            self._available = None
            self._probe.forget()
            self._last_error = say(*MQTT_LOST)

    def _on_availability(self, online: bool, at: datetime) -> None:
        if online == self._available:
            return
        self._log.info("relay %s: device %s", self._cfg.id, "online" if online else "offline")
        self._available, self._available_since = online, at
        for listener in list(self._online_listeners) if online else ():
            listener()
        if online:
            self._probe.restart()  # reset, reflashed or reconfigured while away: read it again
        else:
            self._state.clear()  # it may come back in another state (PowerOnState): ask again
            self._power.forget()
            self._probe.forget()

    def _observe(self, channel: int, on: bool, at: datetime, source: str | None) -> None:
        """The device said `channel` is ON or OFF (`source`: what made it say so)."""
        if not 1 <= channel <= self._cfg.channels:
            return
        before = self._state.get(channel)
        if before is None or before[0] != on:
            self._state[channel] = (on, at)
            word = "ON" if on else "OFF"
            self._log.info("relay %s:%d is %s (%s)", self._cfg.id, channel, word, source)
