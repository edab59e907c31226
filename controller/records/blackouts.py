"""Blackouts entered at run time (through the API), kept in the station database.

The station reads them at every reconcile through `active()`, next to the ones in config.yaml.
Deletion is soft: the row keeps its history (`deleted_at`), the planner stops seeing it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from controller.core.clock import Clock, SystemClock
from controller.core.db import Locked, add_columns
from controller.core.instants import from_stored, from_stored_or_none, to_stored
from controller.core.stationtime import iso
from controller.planning.planner import Blackout

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blackouts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    zones TEXT,
    reason TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
"""

ZoneIds = list[str] | None  # None: every zone (an alias: BlackoutStore.list shadows `list`)
Blackouts = list[Blackout]


@dataclass(frozen=True)
class StoredBlackout:
    """One stored blackout; `zones` None means every zone; times are aware UTC instants."""

    id: int
    name: str
    start: datetime
    end: datetime
    zones: tuple[str, ...] | None
    reason: str
    created_by: str
    created_at: datetime
    deleted_at: datetime | None
    threshold: int = 100

    def to_blackout(self) -> Blackout:
        zones = None if self.zones is None else frozenset(self.zones)
        return Blackout(self.name, self.start, self.end, zones, self.reason, self.threshold)

    def to_dict(self, tz: tzinfo) -> dict[str, object]:
        """JSON-ready, times in the station's zone `tz`."""
        return {
            "id": self.id,
            "source": "api",
            "name": self.name,
            "start": iso(self.start, tz),
            "end": iso(self.end, tz),
            "zones": "all" if self.zones is None else list(self.zones),
            "reason": self.reason,
            "threshold": self.threshold,
            "created_by": self.created_by,
            "created_at": iso(self.created_at, tz),
        }


class BlackoutStore:
    """Blackout rows; one connection, serialised by a lock (db.Locked conventions)."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self._conn = Locked(path, _SCHEMA)
        self._db, self._lock, self._tx = self._conn.db, self._conn.lock, self._conn.tx
        self._clock = clock or SystemClock()
        with self._tx() as db:
            add_columns(db, "blackouts", {"threshold": "INTEGER NOT NULL DEFAULT 100"})

    def close(self) -> None:
        self._conn.close()

    def list(self) -> list[StoredBlackout]:
        """The live (not deleted) blackouts in start order."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM blackouts WHERE deleted_at IS NULL").fetchall()
        return sorted((_row(r) for r in rows), key=lambda b: (b.start, b.id))

    def get(self, blackout_id: int) -> StoredBlackout | None:
        """A live blackout by id, else None."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM blackouts WHERE id = ? AND deleted_at IS NULL", (blackout_id,)
            ).fetchone()
        return None if row is None else _row(row)

    def add(
        self,
        name: str,
        start: datetime,
        end: datetime,
        zones: ZoneIds,
        reason: str,
        created_by: str,
        threshold: int = 100,
    ) -> StoredBlackout:
        _check(start, end)
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO blackouts (name, start, end, zones, reason, created_by, created_at,"
                " threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    to_stored(start),
                    to_stored(end),
                    _zones_text(zones),
                    reason,
                    created_by,
                    self._stamp(),
                    threshold,
                ),
            )
            new_id = cur.lastrowid
        assert new_id is not None
        found = self.get(new_id)
        assert found is not None
        return found

    def update(
        self,
        blackout_id: int,
        name: str,
        start: datetime,
        end: datetime,
        zones: ZoneIds,
        reason: str,
        threshold: int = 100,
    ) -> StoredBlackout | None:
        """Replace a live blackout's fields; None if there is no such live blackout."""
        _check(start, end)
        with self._tx() as db:
            cur = db.execute(
                "UPDATE blackouts SET name = ?, start = ?, end = ?, zones = ?, reason = ?,"
                " threshold = ? WHERE id = ? AND deleted_at IS NULL",
                (
                    name, to_stored(start), to_stored(end), _zones_text(zones), reason,
                    threshold, blackout_id,
                ),
            )  # fmt: skip
            changed = cur.rowcount
        return self.get(blackout_id) if changed else None

    def delete(self, blackout_id: int) -> bool:
        """Soft-delete; False if there is no such live blackout."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE blackouts SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                (self._stamp(), blackout_id),
            )
            return cur.rowcount > 0

    def active(self) -> Blackouts:
        """The live blackouts as the planner sees them (a Station blackout source)."""
        return [b.to_blackout() for b in self.list()]

    def _stamp(self) -> str:
        return to_stored(self._clock.now())


def _check(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("时间须带时区 / start and end must carry a UTC offset")
    if end <= start:
        raise ValueError("结束时间须晚于开始时间 / end must be after start")


def _zones_text(zones: list[str] | None) -> str | None:
    return None if zones is None else json.dumps(zones, ensure_ascii=False)


def _row(r: sqlite3.Row) -> StoredBlackout:
    zones = None if r["zones"] is None else tuple(json.loads(r["zones"]))
    return StoredBlackout(
        id=r["id"],
        name=r["name"],
        start=from_stored(r["start"]),
        end=from_stored(r["end"]),
        zones=zones,
        reason=r["reason"],
        created_by=r["created_by"],
        created_at=from_stored(r["created_at"]),
        deleted_at=from_stored_or_none(r["deleted_at"]),
        threshold=r["threshold"],
    )
