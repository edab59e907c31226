"""What a Tasmota device does with a command, from its Commands/PowerOnState docs: no network."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

_ON = {"ON", "1", "TRUE"}
_OFF = {"OFF", "0", "FALSE"}
_TOGGLE = {"TOGGLE", "2"}
_QUERY = ("", "?")


def seconds(pulsetime: int) -> float:
    """PulseTime units as the firmware times them: tenths up to 111, then (value - 100) s."""
    return pulsetime / 10 if pulsetime <= 111 else float(pulsetime - 100)


@dataclass(frozen=True)
class Out:
    """One message the device publishes: `where` is "RESULT" (a reply), "POWER<n>" or "STATE"."""

    prefix: str  # stat | tele
    name: str
    payload: str
    reply: bool  # an answer to a command (delayed by reply_delay_s), not a spontaneous report


Later = Callable[[float, Callable[[], list[Out]]], None]  # run it then, publish what it returns


@dataclass
class Firmware:
    """Relays, pulse timers and the settings that change them.

    `pulse_timers`: 32 on current builds; 8 on older ones, where PulseTime9+ are not handled
    (no answer at all) and timer n also runs relays n+8, n+16, ...
    `power_on_state` 5 runs the timer on OFF and turns the relay ON when it ends; 4 keeps every
    relay ON and ignores POWER commands. `setoption4`: replies on stat/<t>/<COMMAND> instead of
    RESULT. `setoption26`: POWER1 even on a single relay. `setoption90`: no plain-text POWER
    messages. `interlock`: at most one relay ON (one group of all relays).
    `pulsetime_ignored`: answers PulseTime with the old Set and keeps it (a firmware fault).
    `energy`: energy monitoring hardware (docs "Power Monitoring"): `load_w[n]` watts drawn
    while relay n is ON, 0 while OFF or when n is in `dead_loads` (its amplifier is dead).
    """

    channels: int
    later: Later
    pulse_timers: int = 32
    power_on_state: int = 3  # the firmware default: last saved state
    setoption4: bool = False
    setoption26: bool = False
    setoption90: bool = False
    interlock: bool = False
    pulsetime_ignored: bool = False
    energy: bool = True
    power: dict[int, bool] = field(default_factory=dict)
    load_w: dict[int, float] = field(default_factory=dict)
    dead_loads: set[int] = field(default_factory=set)
    pulsetime: dict[int, int] = field(default_factory=dict)  # by timer 1..pulse_timers
    _ends: dict[int, float] = field(default_factory=dict)  # running timers by timer index

    def __post_init__(self) -> None:
        self.power = dict.fromkeys(range(1, self.channels + 1), False)
        self.load_w = dict.fromkeys(range(1, self.channels + 1), 0.0)
        self.pulsetime = dict.fromkeys(range(1, self.pulse_timers + 1), 0)

    def timer_of(self, channel: int) -> int:
        return (channel - 1) % self.pulse_timers + 1

    def remaining(self, timer: int) -> int:
        """What the firmware reports as Remaining, in PulseTime units."""
        end = self._ends.get(timer)
        left = 0.0 if end is None else max(0.0, end - time.monotonic())
        return round(left) + 100 if left > 11.1 else round(left * 10)

    def command(self, command: str, payload: str) -> list[Out]:
        """Execute one `cmnd/<t>/<command> <payload>`; the messages it publishes."""
        upper, word = command.upper(), payload.strip().upper()
        if upper.startswith("POWERONSTATE"):
            return self._power_on_state(word)
        if upper.startswith("POWER"):
            return self._power_cmd(_index(upper[5:], self.channels), word)
        if upper.startswith("PULSETIME"):
            return self._pulsetime_cmd(_index(upper[9:], self.pulse_timers), word)
        if upper.startswith("SETOPTION") and upper[9:].isdigit():
            return self._setoption(int(upper[9:]), word, command)
        if upper == "INTERLOCK":
            return self._interlock(word)
        if upper == "STATE":
            return [self._reply(upper, self.power_json())]
        if upper == "STATUS" and word == "8":  # answered on its own topic, whatever SetOption4
            return [Out("stat", "STATUS8", json.dumps({"StatusSNS": self.sensors()}), True)]
        return [self._reply("COMMAND", {"Command": "Unknown"})]

    def switch(self, channel: int, on: bool, *, reply: bool) -> list[Out]:
        """ExecuteCommandPower: the relay, its timer (inverted by PowerOnState 5), the report."""
        if self.power_on_state == 4 and not on:
            return self.report(channel, reply=reply)  # relay control disabled
        out: list[Out] = []
        if on and self.interlock:
            others = [c for c, is_on in self.power.items() if is_on and c != channel]
            for other in others:
                out += self.switch(other, False, reply=reply)
        self.power[channel] = on
        timer = self.timer_of(channel)
        armed = on != (self.power_on_state == 5)
        self._set_timer(timer, self.pulsetime[timer] if armed else 0)
        return out + self.report(channel, reply=reply)

    def report(self, channel: int, *, reply: bool) -> list[Out]:
        key, state = self.power_key(channel), "ON" if self.power[channel] else "OFF"
        out = [self._reply(key, {key: state}, reply=reply)]
        if not self.setoption90:
            out.append(Out("stat", key, state, reply))
        return out

    def power_key(self, channel: int) -> str:
        return "POWER" if self.channels == 1 and not self.setoption26 else f"POWER{channel}"

    def power_json(self) -> dict[str, str]:
        return {self.power_key(i): "ON" if on else "OFF" for i, on in self.power.items()}

    def draw_w(self, channel: int) -> float:
        on = self.power[channel] and channel not in self.dead_loads
        return float(self.load_w.get(channel, 0.0)) if on else 0.0

    def sensors(self) -> dict[str, object]:
        """The sensor object of tele/<t>/SENSOR and of StatusSNS, as the docs show it: ENERGY
        with one Power figure, or a list of them on a device metering each channel."""
        body: dict[str, object] = {"Time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if self.energy:
            draws = [self.draw_w(ch) for ch in self.power]
            watts = sum(draws)
            body["ENERGY"] = {
                "TotalStartTime": "2026-01-01T00:00:00", "Total": 1.234, "Yesterday": 0.1,
                "Today": 0.05, "Power": draws if self.channels > 1 else draws[0],
                "ApparentPower": watts, "ReactivePower": 0, "Factor": 1.0, "Voltage": 230,
                "Current": round(watts / 230, 3),
            }  # fmt: skip
        return body

    def _power_cmd(self, index: int | None, word: str) -> list[Out]:
        if index is None:
            return [self._reply("POWER", {"Command": "Error"})]
        if word in _QUERY:
            return self.report(index, reply=True)
        if word in _TOGGLE:
            return self.switch(index, not self.power[index], reply=True)
        if word in _ON or word in _OFF:
            return self.switch(index, word in _ON, reply=True)
        return [self._reply("POWER", {"Command": "Error"})]

    def _pulsetime_cmd(self, index: int | None, word: str) -> list[Out]:
        if index is None:
            return []  # the firmware's handler writes nothing for PulseTime beyond its timers
        if word not in _QUERY and not self.pulsetime_ignored:
            value = 0 if word == "OFF" else int(word) if word.isdigit() else -1
            if 0 <= value <= 65535:
                self.pulsetime[index] = value
                self._set_timer(index, value)  # the command itself restarts a running timer
        body = {"Set": self.pulsetime[index], "Remaining": self.remaining(index)}
        return [self._reply(f"PULSETIME{index}", {f"PulseTime{index}": body})]

    def _power_on_state(self, word: str) -> list[Out]:
        if word.isdigit() and 0 <= int(word) <= 5:
            self.power_on_state = int(word)
            if self.power_on_state == 4:
                return [o for ch in self.power for o in self.switch(ch, True, reply=True)]
        return [self._reply("POWERONSTATE", {"PowerOnState": self.power_on_state})]

    def _setoption(self, number: int, word: str, command: str) -> list[Out]:
        names = {4: "setoption4", 26: "setoption26", 90: "setoption90"}
        attr = names.get(number)
        if attr is not None and word in ("0", "1", "ON", "OFF"):
            setattr(self, attr, word in ("1", "ON"))
        value = bool(getattr(self, attr)) if attr else False
        return [self._reply(command.upper(), {f"SetOption{number}": "ON" if value else "OFF"})]

    def _interlock(self, word: str) -> list[Out]:
        if self.channels > 1 and word in ("0", "1", "ON", "OFF"):
            self.interlock = word in ("1", "ON")
        state = "ON" if self.interlock else "OFF"
        if self.channels == 1:
            return [self._reply("INTERLOCK", {"Interlock": state})]
        groups = ",".join(str(c) for c in self.power)
        return [self._reply("INTERLOCK", {"Interlock": state, "Groups": groups})]

    def _set_timer(self, timer: int, value: int) -> None:
        if value <= 0:
            self._ends.pop(timer, None)
            return
        end = time.monotonic() + seconds(value)
        self._ends[timer] = end
        self.later(seconds(value), lambda: self._expired(timer, end))

    def _expired(self, timer: int, end: float) -> list[Out]:
        """The timer ran out: every relay on it goes OFF (ON with PowerOnState 5)."""
        if self._ends.get(timer) != end:
            return []  # re-armed or cleared since
        del self._ends[timer]
        on = self.power_on_state == 5
        out: list[Out] = []
        for channel in range(timer, self.channels + 1, self.pulse_timers):
            out += self.switch(channel, on, reply=False)
        return out

    def _reply(self, command: str, body: Mapping[str, object], *, reply: bool = True) -> Out:
        # SetOption4 1 answers on stat/<t>/<COMMAND> (the command upper-cased) instead of RESULT
        return Out("stat", command if self.setoption4 else "RESULT", json.dumps(body), reply)


def _index(digits: str, limit: int) -> int | None:
    if digits == "":
        return 1
    index = int(digits) if digits.isdigit() else 0
    return index if 1 <= index <= limit else None
