"""The safety soak's relays as the devices saw them: every change of a Tasmota double's
relay state with its time, and the commands it received."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from doubles.tasmota import TasmotaDouble
from peers.daemon import wall
from peers.mosquitto import Mosquitto, unique_name


class RecordingPower(dict[int, bool]):
    """A double's relay states that note every change with its Unix time."""

    def __init__(self, initial: dict[int, bool], changes: list[tuple[float, int, bool]]) -> None:
        super().__init__(initial)
        self.changes = changes

    def __setitem__(self, channel: int, on: bool) -> None:
        if self.get(channel) != on:
            self.changes.append((time.time(), channel, on))
        super().__setitem__(channel, on)


@dataclass
class Relay:
    """One loudspeaker relay as the station sees it: a double and its channel."""

    name: str  # "rack:1" (amplifier 1), "east:1" ...
    double: TasmotaDouble
    channel: int
    changes: list[tuple[float, int, bool]]

    def intervals(self, until: float) -> list[tuple[float, float]]:
        """(on, off) Unix times of each ON period; still ON at `until` ends there."""
        out: list[tuple[float, float]] = []
        since: float | None = None
        for at, channel, on in list(self.changes):
            if channel != self.channel:
                continue
            if on and since is None:
                since = at
            elif not on and since is not None:
                out.append((since, at))
                since = None
        if since is not None:
            out.append((since, until))
        return out

    def off_cause(self, at: float) -> str:
        """Why the relay went OFF at `at`: an OFF command the device had just received, its own
        dead-man timer running out, or not at all (still on when measuring ended)."""
        if not any(ch == self.channel and not on and at == t for t, ch, on in self.changes):
            return "still on"
        names = {f"POWER{self.channel}"} | ({"POWER"} if self.channel == 1 else set())
        for c in list(self.double.commands):
            sent = c.command.upper() in names and c.payload.upper() in ("OFF", "0")
            if sent and -0.01 <= at - wall(c.at) <= 0.05:
                return "cmd"
        return "dead-man"


class Devices:
    """The three doubles of the e2e rig on fresh topics, their relay changes recorded."""

    def __init__(self, broker: Mosquitto) -> None:
        self.changes: dict[str, list[tuple[float, int, bool]]] = {}
        self.rack = self._make(broker, "rack", 2)
        self.east = self._make(broker, "east", 1)
        self.west = self._make(broker, "west", 1)
        self.relays = [
            Relay("rack:1", self.rack, 1, self.changes["rack"]),
            Relay("rack:2", self.rack, 2, self.changes["rack"]),
            Relay("east:1", self.east, 1, self.changes["east"]),
            Relay("west:1", self.west, 1, self.changes["west"]),
        ]

    def _make(self, broker: Mosquitto, name: str, channels: int) -> TasmotaDouble:
        double = TasmotaDouble(broker.host, broker.port, unique_name(name), channels=channels)
        changes: list[tuple[float, int, bool]] = []
        self.changes[name] = changes
        double.firmware.power = RecordingPower(double.firmware.power, changes)
        double.start()
        return double

    def doubles(self) -> dict[str, TasmotaDouble]:
        return {"rack": self.rack, "east": self.east, "west": self.west}

    def any_on(self) -> list[str]:
        return [r.name for r in self.relays if r.double.power(r.channel)]

    def stop(self) -> None:
        for double in self.doubles().values():
            double.stop()

    def command_log(self, begin: float, end: float) -> list[str]:
        """Every command the doubles received in [begin, end], as `t  device  CMD payload`."""
        lines = []
        for name, double in self.doubles().items():
            for c in list(double.commands):
                at = wall(c.at)
                if begin <= at <= end:
                    lines.append((at, f"{clock(at)}  {name:<4}  {c.command} {c.payload}"))
        return [text for _at, text in sorted(lines)]

    def change_log(self, begin: float, end: float) -> list[str]:
        lines = []
        for relay in self.relays:
            for at, channel, on in list(relay.changes):
                if channel == relay.channel and begin <= at <= end:
                    lines.append((at, f"{clock(at)}  {relay.name} -> {'ON' if on else 'OFF'}"))
        return [text for _at, text in sorted(lines)]


def clock(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%H:%M:%S.%f")[:-3]
