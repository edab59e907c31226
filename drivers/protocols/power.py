"""Power-meter readings in the vendors' payloads, as pure code: Tasmota's ENERGY.Power and
Shelly's apower. Bytes in, watts out; anything hostile or not understood gives no reading.

Tasmota (docs "Power Monitoring", "Commands" → Status): energy monitoring devices publish
`tele/<topic>/SENSOR` every TelePeriod, `{"Time":…,"ENERGY":{…,"Power":45,…}}`, and answer
`Status 8` on `stat/<topic>/STATUS8` with the same object under `StatusSNS`; a device that
meters several channels gives `Power` as a list, one figure per channel.
Shelly Gen2+ (docs "Switch" component, Status section): `apower` is the last measured
instantaneous power in watts, "shown if applicable" — in Switch.GetStatus, in the full status
on `<prefix>/status/switch:<n>` and in NotifyStatus entries when it changes.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Tasmota's MQTT packets are at most about 1 kB (Status 6 MAX_PACKET_SIZE 1000..1200); a
# payload far larger is not a meter's report and is not parsed.
MAX_PAYLOAD = 16_384
MAX_W = 100_000.0  # more than any relay in front of an amplifier switches: not a reading
DEVICE = 0  # the channel of a figure for the whole device (one meter, several relays)
_CHANNELS_MAX = 32  # Tasmota's relay indexes go to 32
_SWITCH_KEY = re.compile(r"^switch:(\d{1,2})$")
_NOTIFY = ("NotifyStatus", "NotifyFullStatus")


def watts(value: Any) -> float | None:
    """A power figure as a device may send it: a finite number 0..MAX_W, else None (a bool,
    a string such as "1e999", NaN, infinity, a negative figure)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        figure = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return figure if math.isfinite(figure) and 0.0 <= figure <= MAX_W else None


def load(payload: bytes) -> Any:
    """The JSON in a payload, or None (too large, not UTF-8, not JSON, nested too deep)."""
    if len(payload) > MAX_PAYLOAD:
        return None
    try:
        return json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def tasmota_power(data: Any, section: str | None = None) -> dict[int, float]:
    """Watts by channel in a Tasmota SENSOR body (`section` None) or a STATUS8 answer
    (`section` "StatusSNS"); a single figure is the whole device's (channel DEVICE)."""
    body = data.get(section) if section is not None and isinstance(data, dict) else data
    energy = body.get("ENERGY") if isinstance(body, dict) else None
    power = energy.get("Power") if isinstance(energy, dict) else None
    if isinstance(power, list):
        found = ((i, watts(v)) for i, v in enumerate(power[:_CHANNELS_MAX], start=1))
        return {channel: w for channel, w in found if w is not None}
    figure = watts(power)
    return {} if figure is None else {DEVICE: figure}


def shelly_apower(body: Any) -> dict[int, float]:
    """Watts in one switch status with its `id` (GetStatus result, status/switch:<n>)."""
    if not isinstance(body, dict):
        return {}
    sid, figure = body.get("id"), watts(body.get("apower"))
    if isinstance(sid, bool) or not isinstance(sid, int) or not 0 <= sid < _CHANNELS_MAX:
        return {}
    return {} if figure is None else {sid + 1: figure}


def shelly_notified(frame: Any) -> dict[int, float]:
    """Watts by channel in a NotifyStatus / NotifyFullStatus frame (switch:0 is channel 1)."""
    if not isinstance(frame, dict) or frame.get("method") not in _NOTIFY:
        return {}
    params = frame.get("params")
    found: dict[int, float] = {}
    for key, body in params.items() if isinstance(params, dict) else ():
        match = _SWITCH_KEY.match(key) if isinstance(key, str) else None
        figure = watts(body.get("apower")) if match and isinstance(body, dict) else None
        if match and figure is not None and int(match[1]) < _CHANNELS_MAX:
            found[int(match[1]) + 1] = figure
    return found
