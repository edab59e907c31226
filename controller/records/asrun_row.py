"""One row of the as-run record (one airing on one zone), as stored and as shown."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

from controller.core.instants import from_stored_or_none, to_stored_or_none
from controller.core.stationtime import iso_or_none

Outcome = Literal[
    "aired", "joined", "resumed", "cut", "preempted", "stopped", "blacked_out", "missed", "failed"
]
OUTCOMES: tuple[Outcome, ...] = (
    "aired", "joined", "resumed", "cut", "preempted", "stopped", "blacked_out", "missed", "failed"
)  # fmt: skip

# The outcomes of a zone that aired its airing in full (the record's own word for "aired").
FULL_AIRINGS = frozenset({"aired", "joined", "resumed"})

COLUMNS = (
    "airing_id",
    "slot",
    "zone",
    "planned_start",
    "planned_end",
    "zone_end",
    "playlist",
    "state",
    "relay_on_at",
    "relay_on",
    "audio_start",
    "audio_end",
    "frames",
    "relay_off_at",
    "relay_off",
    "joined_at",
    "clips",
    "outcome",
    "reason",
    "source",
    "priority",
    "exercise",
    "silence_s",
    "clipped_s",
    "dead_air",
    "audio_confirmed",
    "power_w",
    "power_reason",
)
# The columns that hold an instant: stored in the one form, shown in the station's zone.
TIMES = frozenset(
    {"planned_start", "planned_end", "zone_end", "relay_on_at", "audio_start", "audio_end",
     "relay_off_at", "joined_at"}
)  # fmt: skip


@dataclass(frozen=True)
class AsRunRow:
    """Times are aware UTC instants, as the store keeps them."""

    airing_id: str
    slot: str
    zone: str
    planned_start: datetime
    planned_end: datetime
    zone_end: datetime
    playlist: str
    state: str
    relay_on_at: datetime | None
    relay_on: str | None
    audio_start: datetime | None
    audio_end: datetime | None
    frames: int | None
    relay_off_at: datetime | None
    relay_off: str | None
    joined_at: datetime | None
    clips: list[dict[str, Any]]
    outcome: str | None
    reason: str
    source: str = "schedule"
    priority: int = 50
    exercise: bool = False
    silence_s: float = 0.0  # dead air: seconds of silence inside clips beyond monitor.silence_s
    clipped_s: float = 0.0
    dead_air: bool = False  # there was dead air (the flag the record is searched by)
    # The amplifier's power draw (zones[].power): None when the zone has no check (or the
    # audio never started), else whether min_w was seen within within_s of the audio's start;
    # power_w the most seen in that window, power_reason why it was not confirmed.
    audio_confirmed: bool | None = None
    power_w: float | None = None
    power_reason: str = ""

    def to_dict(self, tz: tzinfo) -> dict[str, Any]:
        """JSON-ready, every time in the station's zone `tz` (one offset per column)."""
        out = {name: getattr(self, name) for name in COLUMNS}
        for name in TIMES:
            out[name] = iso_or_none(out[name], tz)
        return out


def stored_value(column: str, value: Any) -> Any:
    """A value as the asrun table keeps it: instants in the one form, clips as JSON."""
    if column in TIMES:
        return to_stored_or_none(value)
    if column == "clips":
        return json.dumps(value, ensure_ascii=False)
    return value


def from_db(r: sqlite3.Row) -> AsRunRow:
    fields = dict(r)
    for name in TIMES:
        fields[name] = from_stored_or_none(fields[name])
    confirmed = None if r["audio_confirmed"] is None else bool(r["audio_confirmed"])
    flags = {"exercise": bool(r["exercise"]), "dead_air": bool(r["dead_air"]),
             "audio_confirmed": confirmed}  # fmt: skip
    return AsRunRow(**{**fields, "clips": json.loads(r["clips"]), **flags})
