"""The relay driver contract: switch a channel, learn whether the device confirmed it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

RelayState = Literal["on", "off", "unknown"]


class RelayError(Exception):
    """A switch that did not happen, said in the operator's language (Chinese, then English).
    The kinds a driver raises, and their text, are in drivers/relays/errors.py."""


class RelayUnreachable(RelayError):
    """The command was never sent (broker unreachable, device offline): nothing arrives late,
    and the same switch may be tried again once the device can be reached."""


class RelayConfigError(ValueError):
    """A relay that cannot be built from its config (said Chinese first, then English)."""


@dataclass(frozen=True)
class SwitchResult:
    """What a device said about a switch: `confirmed` (it replied) or `commanded` (write-only)."""

    channel: int
    on: bool
    confirmation: Literal["confirmed", "commanded"]
    at: datetime
    attempts: int


@dataclass(frozen=True)
class ChannelStatus:
    channel: int
    state: RelayState
    confirmed: bool
    since: datetime | None


@dataclass(frozen=True)
class DeviceHealth:
    available: bool | None  # None: the device has no way to tell
    last_error: str | None
    last_seen: datetime | None


@dataclass(frozen=True)
class PowerReading:
    """What a relay's meter said a channel's load draws, in watts, received `at` (UTC)."""

    channel: int
    watts: float
    at: datetime


class PowerMeter(Protocol):
    """A relay that measures what its channels' loads draw (Tasmota energy monitoring,
    Shelly apower): the amplifier behind a zone's relay is really on and driving speakers."""

    async def read_power(self, channel: int) -> PowerReading | None:
        """Ask the device what `channel` draws now; its answer, or None when none came within
        the driver's confirm timeout (or the device cannot be reached). Never raises for a
        reading that did not come."""


class RelayDevice(Protocol):
    """A relay board or smart switch. Every method is safe to call from the event loop."""

    @property
    def id(self) -> str: ...

    @property
    def channels(self) -> int: ...

    async def start(self) -> None:
        """Subscribe / open the port. Must not switch anything."""

    async def stop(self) -> None: ...

    async def switch(
        self, channel: int, on: bool, *, deadman_s: float | None = None
    ) -> SwitchResult:
        """Switch one channel and wait for the device to confirm it.

        `deadman_s`: with `on=True`, arm the device's own timer so the channel falls OFF by itself
        after that many seconds unless switched ON again (re-arming it). Raises RelayError when
        the device did not confirm after its retries, or when the command could not be sent.
        """

    def status(self, channel: int) -> ChannelStatus: ...

    def health(self) -> DeviceHealth: ...

    def power_meter(self) -> PowerMeter | None:
        """The device's power meter, or None: this device cannot tell what its load draws."""
