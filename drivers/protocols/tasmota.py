"""Tasmota over MQTT as pure code: topics from FullTopic, the PulseTime codec, reports → events."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from drivers.protocols.availability import Availability as Availability  # one of its events

Prefix = Literal["cmnd", "stat", "tele"]
PREFIXES: tuple[Prefix, ...] = ("cmnd", "stat", "tele")

PULSETIME_MAX_S = 64800.0  # PulseTime 64900 = 64 800 s (18 h), the longest the docs document
PULSETIME_RAW_MAX = 65535  # the setting is 16 bits: the firmware stores and runs 64901..65535 too
_TENTHS_MAX = 111  # 1..111 are tenths of a second; 112.. are seconds + 100

_POWER_KEY = re.compile(r"^POWER(\d*)$", re.IGNORECASE)
_PULSETIME_KEY = re.compile(r"^PULSETIME(\d*)$", re.IGNORECASE)
_SETTING_KEY = re.compile(r"^(POWERONSTATE|INTERLOCK|SETOPTION\d+)$", re.IGNORECASE)


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
    """Seconds a PulseTime setting runs for (0.0 = disabled).

    The docs stop at 64900, but the firmware keeps any 16-bit value and times everything above
    111 as (value - 100) s, so 64901..65535 run 64 801..65 435 s: a device may report them.
    """
    if not 0 <= value <= PULSETIME_RAW_MAX:
        raise ValueError(f"PulseTime {value} is not a 16-bit setting (0..{PULSETIME_RAW_MAX})")
    if value <= _TENTHS_MAX:
        return value / 10
    return float(value - 100)


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
class PulseTimeReport:
    """The device's PulseTime setting for `channel` and the tenths/seconds left (raw values)."""

    channel: int
    set: int
    remaining: int | None


@dataclass(frozen=True)
class SettingReport:
    """A reply naming one setting and its value: `PowerOnState` 3, `SetOption4` OFF → 0."""

    name: str  # upper case, as the key in the reply: POWERONSTATE, INTERLOCK, SETOPTION26
    value: int  # numbers as sent, ON/OFF as 1/0


@dataclass(frozen=True)
class CommandRejected:
    """`{"Command":"Unknown"}` / `{"Command":"Error"}`: the device did not take a command."""

    reason: str


TasmotaEvent = PowerState | Availability | PulseTimeReport | SettingReport | CommandRejected


@dataclass(frozen=True)
class TasmotaCodec:
    """Commands to send and parsing of what one Tasmota device publishes."""

    topics: TasmotaTopics
    lwt_online: str = "Online"
    lwt_offline: str = "Offline"

    def subscriptions(self, channels: int) -> list[str]:
        """Topics to subscribe to. Every stat/ level: replies come on `RESULT`, or with
        `SetOption4 1` on `stat/<t>/<COMMAND>`, and POWER<n> changes on their own level."""
        del channels  # one wildcard level covers any number of relays
        telemetry = [self.topics.tele(name) for name in ("LWT", "STATE", "SENSOR")]
        return [self.topics.stat("+"), *telemetry]  # SENSOR: energy monitoring (power.py)

    def power(self, channel: int, on: bool) -> tuple[str, str]:
        return self.topics.command(f"POWER{channel}"), "ON" if on else "OFF"

    def command(self, name: str, payload: str = "") -> tuple[str, str]:
        """Any command; an empty payload asks for the current value."""
        return self.topics.command(name), payload

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
        if prefix == "tele" and name == "STATE":
            return [e for e in _json_events(text, reply=False) if isinstance(e, PowerState)]
        if prefix != "stat":
            return []
        channel, on = _power_channel(name), _on_off(text)
        if channel is not None and on is not None:
            return [PowerState(channel, on)]  # the plain `stat/<t>/POWER<n> ON`
        return _json_events(text, reply=True)  # RESULT, or stat/<t>/<COMMAND> with SetOption4


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
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
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
            continue
        setting = _setting(key, value)
        if setting is not None:
            events.append(setting)
        elif key.upper() == "COMMAND" and isinstance(value, str):
            events.append(CommandRejected(value))
    return events


def _setting(key: str, value: Any) -> SettingReport | None:
    if _SETTING_KEY.match(key) is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return SettingReport(key.upper(), value)
    on = _on_off(value)
    return None if on is None else SettingReport(key.upper(), int(on))


def _raw(value: Any) -> int | None:
    """A PulseTime figure as the firmware can hold it (16 bits), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= PULSETIME_RAW_MAX:
        return value
    return None


def _pulsetime_report(channel: int, value: Any) -> PulseTimeReport | None:
    if _raw(value) is not None:
        return PulseTimeReport(channel, value, None)
    if isinstance(value, dict):
        setting = _raw(value.get("Set"))
        if setting is not None:
            return PulseTimeReport(channel, setting, _raw(value.get("Remaining")))
    return None
