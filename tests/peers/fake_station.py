"""One in-process test station: two zones (east, west) on a fake relay board, one amplifier,
null audio. Tests that differ only in their slots and schedule use it instead of a copy."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from peers.daemon import StationDir


def slot(name: str, start: datetime, seconds: float) -> dict[str, Any]:
    return {"name": name, "start": f"{start:%H:%M:%S}", "duration": f"{seconds}s", "playlist": "p"}


def two_zone_station(root: Path, slots: list[dict[str, Any]], **schedule: Any) -> StationDir:
    """`schedule` overrides preroll 0.5 s, postroll 0.2 s, min_join 60 s (and adds keys)."""
    station = StationDir(root)
    station.write_config(
        {
            "audio": {"output": {"type": "null"}, "fade_out_s": 0.2},
            "relays": [{"id": "v", "type": "fake", "channels": 3}],
            "amplifiers": [{"relay": "v:3"}],
            "zones": [
                {"id": "east", "name": "东村", "relays": ["v:1"]},
                {"id": "west", "name": "西村", "relays": ["v:2"]},
            ],
            "schedule": {
                "preroll_s": 0.5, "postroll_s": 0.2, "min_join_s": 60, **schedule, "slots": slots,
            },
        }
    )  # fmt: skip
    return station
