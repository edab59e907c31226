"""The safety soak's station: its timings, the short slots it airs, its config, and one
daemon run (a phase) on a station folder of its own."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from doubles.tasmota import TasmotaDouble
from peers.daemon import Daemon, StationDir, station_time
from peers.mosquitto import Mosquitto
from soak_devices import Devices

PREROLL, SETTLE, POSTROLL = 1.0, 0.3, 0.5
SETTLES = 2 * SETTLE  # two amplifier channels, each followed by its settle
WAKE_LEAD = PREROLL + SETTLES + 2.0  # README "How an airing runs", step 1
MARGIN, REARM, MIN_JOIN = 3.0, 1.0, 2.0
GRACE_S = 1.0  # the goal: nothing on beyond postroll + 1 s
FIRST_LEAD_S = 8.0  # first slot this far after the daemon's config is written
KINDS = ("before_wake", "power_up", "zones_on", "on_air", "postroll")
DIED = ("daemon died", "守护进程中断")


@dataclass
class Slot:
    name: str
    start: datetime
    seconds: float

    @property
    def t(self) -> float:
        return self.start.timestamp()

    @property
    def window(self) -> tuple[float, float]:
        """When a loudspeaker relay may be on for this slot (before the grace)."""
        return self.t - PREROLL - SETTLES, self.t + self.seconds + POSTROLL

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": f"{self.start:%H:%M:%S}",
            "duration": f"{self.seconds:g}s",
            "playlist": "p",
        }


def make_slots(rng: random.Random, count: int, gap_s: int, prefix: str) -> list[Slot]:
    """`count` slots of 4-6 s, `gap_s` apart, the first FIRST_LEAD_S from now. Whole seconds:
    a slot's start is written to the config as HH:MM:SS."""
    start = station_time(FIRST_LEAD_S)
    slots = []
    for i in range(count):
        seconds = float(rng.choice((4, 5, 6)))
        slots.append(Slot(f"{prefix}{i:02d}", start, seconds))
        start += timedelta(seconds=seconds + gap_s)
    return slots


def write_config(
    station: StationDir,
    broker: Mosquitto,
    devices: Devices,
    slots: list[Slot],
    aircheck: Path | None = None,
) -> None:
    def tasmota(relay_id: str, double: TasmotaDouble, channels: int = 1) -> dict[str, Any]:
        return {
            "id": relay_id,
            "type": "tasmota",
            "topic": double.topic,
            "channels": channels,
            "confirm_timeout_s": 1.5,
        }

    extra: dict[str, Any] = {}
    if aircheck is not None:
        extra["audio"] = {"output": {"type": "file", "dir": str(aircheck)}, "fade_out_s": 0.5}
    station.write_config(
        {
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "keepalive_s": 5,
                "reconnect_max_s": 1,
            },
            "relays": [
                tasmota("rack", devices.rack, 2),
                tasmota("east", devices.east),
                tasmota("west", devices.west),
            ],
            "amplifiers": [
                {"relay": "rack:1", "settle_s": SETTLE},
                {"relay": "rack:2", "settle_s": SETTLE},
            ],
            "zones": [
                {"id": "east", "name": "东村", "relays": ["east:1"]},
                {"id": "west", "name": "西村", "relays": ["west:1"]},
            ],
            "schedule": {
                "preroll_s": PREROLL,
                "postroll_s": POSTROLL,
                "min_join_s": MIN_JOIN,
                "deadman_margin_s": MARGIN,
                "rearm_s": REARM,
                "slots": [s.config() for s in slots],
            },
            **extra,
        }
    )


def sleep_until(unix: float) -> None:
    delay = unix - time.time()
    if delay > 0:
        time.sleep(delay)


@dataclass
class Phase:
    """One daemon run on its own station folder, devices and slots."""

    name: str
    broker: Mosquitto
    root: Path
    slots: list[Slot]
    aircheck: Path | None = None
    log_dir: Path | None = None

    def __post_init__(self) -> None:
        self.devices = Devices(self.broker)
        self.station = StationDir(self.root)
        self.daemon = Daemon(self.station)
        self.end = 0.0
        self.final_rows: list[dict[str, Any]] = []
        if self.log_dir is not None:
            self.daemon.log_path = self.log_dir / f"{self.name}-daemon.log"
        write_config(self.station, self.broker, self.devices, self.slots, self.aircheck)

    def start(self) -> None:
        self.daemon.start(timeout=25.0)

    def finish(self) -> float:
        """Wait out the last dead-man, stop the daemon; the Unix time measuring ends."""
        last = max(s.window[1] for s in self.slots)
        sleep_until(last + MARGIN + 2.0)
        if not self.broker.running:
            self.broker.start()
        code = self.daemon.stop()
        if code not in (0, -15):
            print(f"    ! {self.name}: daemon exited {code} at the end", file=sys.stderr)
        time.sleep(0.5)
        self.end = time.time()
        self.final_rows = self.station.rows()
        return self.end

    def open_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.final_rows if r["outcome"] is None]

    def died_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.final_rows if any(w in (r["reason"] or "") for w in DIED)]
