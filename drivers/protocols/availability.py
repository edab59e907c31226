"""What every MQTT device says of itself, whatever its protocol: online, or gone."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Availability:
    """The device's retained online message: online once it is connected, offline (its Last
    Will, published by the broker) when it is gone. Tasmota: `tele/<t>/LWT`; Shelly:
    `<prefix>/online`."""

    online: bool
