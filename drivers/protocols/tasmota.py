"""Tasmota over MQTT as pure code: topics from FullTopic, the PulseTime codec, reports → events."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

Prefix = Literal["cmnd", "stat", "tele"]
PREFIXES: tuple[Prefix, ...] = ("cmnd", "stat", "tele")

PULSETIME_MAX_S = 64800.0  # PulseTime 64900 = 64 800 s (18 h), the longest the firmware takes
_TENTHS_MAX = 111  # 1..111 are tenths of a second; 112.. are seconds + 100

_POWER_KEY = re.compile(r"^POWER(\d*)$", re.IGNORECASE)
_PULSETIME_KEY = re.compile(r"^PULSETIME(\d*)$", re.IGNORECASE)


def encode_pulsetime(seconds: float) -> int:
    """The PulseTime value for a dead-man of `seconds` (0 disables; nearest representable value)."""
    if seconds < 0 or seconds > PULSETIME_MAX_S:
        raise ValueError(f"PulseTime must be 0..{PULSETIME_MAX_S:.0f} s, not {seconds!r}")
    if seconds == 0:
        return 0
    if seconds < 11.2:
        # Never 0 (that would disable the dead-man) and never 112 (that would mean 12 s).
        return min(max(1, round(seconds * 10)), _TENTHS_MAX)
    return round(seconds) + 100


def decode_pulsetime(value: int) -> float:
    """Seconds meant by a PulseTime setting (0.0 = disabled)."""
    if value == 0:
        return 0.0
    if 1 <= value <= _TENTHS_MAX:
        return value / 10
    if _TENTHS_MAX < value <= PULSETIME_MAX_S + 100:
        return float(value - 100)
    raise ValueError(f"PulseTime {value} is outside 0..64900")


@dataclass(frozen=True)
class TasmotaTopics:
    """Topics of one device, built from its FullTopic template (`%prefix%/%topic%/` by default)."""

    topic: str
    full_topic: str = "%prefix%/%topic%/"
    hostname: str | None = None
    mac_id: str | None = None

    def __post_init__(self) -> None:
        if not self.topic or any(c in self.topic for c in "+#/"):
            raise ValueError(f"Tasmota topic {self.topic!r} must be one non-empty topic level")
        if "%prefix%" not in self.full_topic:
            raise ValueError(f"FullTopic {self.full_topic!r} must contain %prefix%")
        if any(c in self.full_topic for c in "+#"):
            raise ValueError(f"FullTopic {self.full_topic!r} must not contain MQTT wildcards")
        for token, value in (("%hostname%", self.hostname), ("%id%", self.mac_id)):
            if token in self.full_topic and not value:
                raise ValueError(f"FullTopic {self.full_topic!r} uses {token} but none was given")

    def base(self, prefix: Prefix) -> str:
        """The topic up to the command/report name, always ending in '/' (as Tasmota does)."""
        text = self.full_topic.replace("%prefix%", prefix).replace("%topic%", self.topic)
        text = text.replace("%hostname%", self.hostname or "").replace("%id%", self.mac_id or "")
        return text if text.endswith("/") else text + "/"

    def command(self, name: str) -> str:
        return self.base("cmnd") + name

    def stat(self, name: str) -> str:
        return self.base("stat") + name

    def tele(self, name: str) -> str:
        return self.base("tele") + name

    def split(self, topic: str) -> tuple[Prefix, str] | None:
        """(prefix, last level) when `topic` belongs to this device, else None."""
        for prefix in PREFIXES:
            base = self.base(prefix)
            if topic.startswith(base):
                rest = topic[len(base) :]
                if rest and "/" not in rest:
                    return prefix, rest
        return None


@dataclass(frozen=True)
class PowerState:
    """The device reported relay `channel` ON or OFF (`reply`: a stat/ reply, not telemetry)."""

    channel: int
    on: bool
    reply: bool = True


@dataclass(frozen=True)
class Availability:
    """The device's LWT: online after it connects, offline when the broker saw it drop."""

    online: bool


@dataclass(frozen=True)
class PulseTimeReport:
    """The device's PulseTime setting for `channel` and the tenths/seconds left (raw values)."""

    channel: int
    set: int
    remaining: int | None


TasmotaEvent = PowerState | Availability | PulseTimeReport


@dataclass(frozen=True)
class TasmotaCodec:
    """Commands to send and parsing of what one Tasmota device publishes."""

    topics: TasmotaTopics
    lwt_online: str = "Online"
    lwt_offline: str = "Offline"

    def subscriptions(self, channels: int) -> list[str]:
        """Exact topics to subscribe to (MQTT has no `POWER+` wildcard, so each POWER<n>)."""
        power = [self.topics.stat("POWER")]
        power += [self.topics.stat(f"POWER{n}") for n in range(1, channels + 1)]
        return [
            self.topics.stat("RESULT"),
            *power,
            self.topics.tele("LWT"),
            self.topics.tele("STATE"),
        ]

    def power(self, channel: int, on: bool) -> tuple[str, str]:
        return self.topics.command(f"POWER{channel}"), "ON" if on else "OFF"

    def pulsetime(self, channel: int, seconds: float) -> tuple[str, str]:
        return self.topics.command(f"PulseTime{channel}"), str(encode_pulsetime(seconds))

    def parse(self, topic: str, payload: bytes) -> list[TasmotaEvent]:
        """Events in one message from the device; [] for anything not understood."""
        where = self.topics.split(topic)
        if where is None:
            return []
        prefix, name = where
        text = payload.decode("utf-8", errors="replace").strip()
        if prefix == "tele" and name == "LWT":
            if text == self.lwt_online:
                return [Availability(True)]
            return [Availability(False)] if text == self.lwt_offline else []
        if prefix == "stat" and name == "RESULT":
            return _json_events(text, reply=True)
        if prefix == "tele" and name == "STATE":
            return [e for e in _json_events(text, reply=False) if isinstance(e, PowerState)]
        if prefix == "stat":
            channel = _power_channel(name)
            on = _on_off(text)
            if channel is not None and on is not None:
                return [PowerState(channel, on)]
        return []


def _power_channel(key: str) -> int | None:
    match = _POWER_KEY.match(key)
    if match is None:
        return None
    channel = int(match[1] or 1)  # single-relay devices say POWER for relay 1
    return channel if channel >= 1 else None


def _on_off(value: Any) -> bool | None:
    if isinstance(value, str) and value.upper() in ("ON", "OFF"):
        return value.upper() == "ON"
    return None


def _json_events(text: str, *, reply: bool) -> list[TasmotaEvent]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    events: list[TasmotaEvent] = []
    for key, value in data.items():
        channel, on = _power_channel(key), _on_off(value)
        if channel is not None and on is not None:
            events.append(PowerState(channel, on, reply))
            continue
        match = _PULSETIME_KEY.match(key)
        if match is not None:
            report = _pulsetime_report(int(match[1] or 1), value)
            if report is not None:
                events.append(report)
    return events


def _pulsetime_report(channel: int, value: Any) -> PulseTimeReport | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return PulseTimeReport(channel, value, None)
    if isinstance(value, dict) and isinstance(value.get("Set"), int):
        remaining = value.get("Remaining")
        return PulseTimeReport(
            channel, value["Set"], remaining if isinstance(remaining, int) else None
        )
    return None
