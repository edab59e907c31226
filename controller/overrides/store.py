"""Overrides: manual and emergency airings entered through the API, kept in the station database.

The station reads the live ones at every reconcile (next to the slots of config.yaml) and runs
them through the same runner, on the same priority ladder (DESIGN.md §2.7). An override ends by
itself at its `end`; an operator may stop or cancel it earlier (state `stopped` / `cancelled`,
with who and why). An emergency's CAP identifier is unique: the same alert twice airs once.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from controller.core.airing_id import AiringId
from controller.core.clock import Clock, SystemClock
from controller.core.db import Locked
from controller.core.instants import from_stored, from_stored_or_none, to_stored
from controller.core.stationtime import iso, iso_or_none
from controller.planning.planner import Airing, Blackout, Source, plan_zone

State = Literal["active", "stopped", "cancelled"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS overrides (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    priority INTEGER NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    zones TEXT,
    playlist TEXT,
    clips TEXT NOT NULL DEFAULT '[]',
    gap_s REAL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'active',
    ended_at TEXT,
    ended_by TEXT,
    ended_reason TEXT,
    identifier TEXT UNIQUE,
    cap TEXT NOT NULL DEFAULT '{}',
    led_text TEXT,
    exercise INTEGER NOT NULL DEFAULT 0,
    fitted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS overrides_end ON overrides (end);
"""



@dataclass(frozen=True)
class Override:
    """One manual or emergency airing; times are aware (UTC when read from the store)."""

    id: str
    source: Source
    priority: int
    start: datetime
    end: datetime
    zones: tuple[str, ...] | None  # None: every zone
    playlist: str | None
    clips: tuple[str, ...]
    gap_s: float | None
    reason: str
    created_by: str
    created_at: datetime
    state: State = "active"
    ended_at: datetime | None = None
    ended_by: str | None = None
    ended_reason: str | None = None
    identifier: str | None = None
    cap: dict[str, Any] = field(default_factory=dict)  # CAP fields: status, msgType, references
    led_text: str | None = None
    exercise: bool = False
    fitted: bool = False  # its length is its clips × repeats: a short fade, in the last gap

    @property
    def airing_id(self) -> str:
        return str(AiringId.for_override(self.id))

    @property
    def label(self) -> str:
        kind = {"emergency": "紧急插播", "manual": "手动插播"}.get(self.source, self.source)
        return f"{kind}{'(演练)' if self.exercise else ''}"

    def to_airing(self, all_zones: Sequence[str], blackouts: Iterable[Blackout]) -> Airing:
        """The override as the station plans it: its zones with the blackouts that silence an
        airing of its priority applied."""
        zones = list(all_zones) if self.zones is None else list(self.zones)
        quiet = list(blackouts)
        plans = tuple(plan_zone(z, self.start, self.end, quiet, self.priority) for z in zones)
        return Airing(
            self.airing_id, self.label, self.start, self.end,
            self.playlist or f"{self.source}:{self.id}", plans, self.priority, self.source,
            self.clips, self.gap_s, self.exercise, self.reason, self.fitted,
        )  # fmt: skip

    def to_dict(self, tz: tzinfo) -> dict[str, Any]:
        """JSON-ready, times in the station's zone `tz`."""
        return {
            "id": self.id,
            "airing_id": self.airing_id,
            "source": self.source,
            "priority": self.priority,
            "start": iso(self.start, tz),
            "end": iso(self.end, tz),
            "zones": "all" if self.zones is None else list(self.zones),
            "playlist": self.playlist,
            "clips": list(self.clips),
            "gap_s": self.gap_s,
            "reason": self.reason,
            "created_by": self.created_by,
            "created_at": iso(self.created_at, tz),
            "state": self.state,
            "ended_at": iso_or_none(self.ended_at, tz),
            "ended_by": self.ended_by,
            "ended_reason": self.ended_reason,
            "identifier": self.identifier,
            **self.cap,
            "led_text": self.led_text,
            "exercise": self.exercise,
            "fitted": self.fitted,
        }


class OverrideStore:
    """Override rows; one connection, serialised by a lock (db.Locked conventions)."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self._conn = Locked(path, _SCHEMA)
        self._db, self._lock, self._tx = self._conn.db, self._conn.lock, self._conn.tx
        self._clock = clock or SystemClock()

    def close(self) -> None:
        self._conn.close()

    def add(self, o: Override) -> tuple[Override, bool]:
        """Store a new override; with an identifier already stored, the stored one and False."""
        if o.start.tzinfo is None or o.end.tzinfo is None:
            raise ValueError("时间须带时区 / start and end must carry a UTC offset")
        if o.end <= o.start:
            raise ValueError("结束时间须晚于开始时间 / end must be after start")
        with self._tx() as db:
            if o.identifier is not None:
                row = db.execute(
                    "SELECT * FROM overrides WHERE identifier = ?", (o.identifier,)
                ).fetchone()
                if row is not None:
                    return _row(row), False
            db.execute(
                "INSERT INTO overrides (id, source, priority, start, end, zones, playlist, clips,"
                " gap_s, reason, created_by, created_at, identifier, cap, led_text, exercise,"
                " fitted)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    o.id, o.source, o.priority, to_stored(o.start), to_stored(o.end),
                    None if o.zones is None else json.dumps(list(o.zones), ensure_ascii=False),
                    o.playlist, json.dumps(list(o.clips)), o.gap_s, o.reason, o.created_by,
                    to_stored(o.created_at), o.identifier, json.dumps(o.cap, ensure_ascii=False),
                    o.led_text, int(o.exercise), int(o.fitted),
                ),
            )  # fmt: skip
        found = self.get(o.id)
        assert found is not None
        return found, True

    def get(self, override_id: str) -> Override | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM overrides WHERE id = ?", (override_id,)
            ).fetchone()
        return None if row is None else _row(row)

    def by_identifier(self, identifier: str) -> Override | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM overrides WHERE identifier = ?", (identifier,)
            ).fetchone()
        return None if row is None else _row(row)

    def ending_after(self, moment: datetime) -> list[Override]:
        """Every override (any state) that ends after `moment`, in start order."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM overrides").fetchall()
        found = [o for o in map(_row, rows) if o.end > moment]
        return sorted(found, key=lambda o: (o.start, o.id))

    def live(self, begin: datetime, until: datetime) -> list[Override]:
        """Active overrides that meet [begin, until)."""
        return [o for o in self.ending_after(begin) if o.state == "active" and o.start < until]

    def end(self, override_id: str, state: State, by: str, reason: str) -> Override | None:
        """Stop (it was on air) or cancel (it was not yet) an active override."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE overrides SET state = ?, ended_at = ?, ended_by = ?, ended_reason = ?"
                " WHERE id = ? AND state = 'active'",
                (state, self.stamp(), by, reason, override_id),
            )
            changed = cur.rowcount
        return self.get(override_id) if changed else None

    def stamp(self) -> str:
        return to_stored(self._clock.now())


def new_id() -> str:
    return secrets.token_hex(6)


def _row(r: sqlite3.Row) -> Override:
    return Override(
        id=r["id"],
        source=r["source"],
        priority=r["priority"],
        start=from_stored(r["start"]),
        end=from_stored(r["end"]),
        zones=None if r["zones"] is None else tuple(json.loads(r["zones"])),
        playlist=r["playlist"],
        clips=tuple(json.loads(r["clips"])),
        gap_s=r["gap_s"],
        reason=r["reason"],
        created_by=r["created_by"],
        created_at=from_stored(r["created_at"]),
        state=r["state"],
        ended_at=from_stored_or_none(r["ended_at"]),
        ended_by=r["ended_by"],
        ended_reason=r["ended_reason"],
        identifier=r["identifier"],
        cap=json.loads(r["cap"]),
        led_text=r["led_text"],
        exercise=bool(r["exercise"]),
        fitted=bool(r["fitted"]),
    )
