"""The as-run record in SQLite (WAL, synchronous=FULL): one row per airing per zone.

Instants go in as aware datetimes or aware ISO text (the runner's), are kept in the one stored
form (controller/core/instants.py) and come back as aware UTC datetimes
(controller/records/asrun_row.py).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from controller.core.airing_id import AiringId
from controller.core.clock import Clock, SystemClock
from controller.core.db import Locked, add_columns
from controller.core.db_upgrade import STATE_INSTANTS
from controller.core.instants import from_stored, to_stored
from controller.records.asrun_row import COLUMNS, OUTCOMES, AsRunRow, Outcome, from_db, stored_value

__all__ = ["COLUMNS", "OUTCOMES", "AsRunRow", "Outcome", "Store"]

# An orderly stop closes the airings it ends with these reasons; a restart inside the window
# reopens such rows and joins (the join's outcome then replaces them).
SHUTDOWN_STOPPED = "守护进程停止，播出中断 / daemon stopped mid-airing"
SHUTDOWN_MISSED = "守护进程停止，尚未开播 / daemon stopped before the airing began"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS asrun (
    id INTEGER PRIMARY KEY,
    airing_id TEXT NOT NULL,
    slot TEXT NOT NULL,
    zone TEXT NOT NULL,
    planned_start TEXT NOT NULL,
    planned_end TEXT NOT NULL,
    zone_end TEXT NOT NULL,
    playlist TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'planned',
    relay_on_at TEXT,
    relay_on TEXT,
    audio_start TEXT,
    audio_end TEXT,
    frames INTEGER,
    relay_off_at TEXT,
    relay_off TEXT,
    joined_at TEXT,
    clips TEXT NOT NULL DEFAULT '[]',
    outcome TEXT,
    reason TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    UNIQUE (airing_id, zone)
);
CREATE INDEX IF NOT EXISTS asrun_start ON asrun (planned_start);
CREATE INDEX IF NOT EXISTS asrun_open ON asrun (outcome) WHERE outcome IS NULL;
CREATE TABLE IF NOT EXISTS station_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Added after the first release; older databases get them on open (db.add_columns).
_ADDED = {
    "source": "TEXT NOT NULL DEFAULT 'schedule'",  # schedule | manual | emergency
    "priority": "INTEGER NOT NULL DEFAULT 50",
    "exercise": "INTEGER NOT NULL DEFAULT 0",  # 1: an emergency drill (CAP status exercise)
    "silence_s": "REAL NOT NULL DEFAULT 0",  # dead air, in seconds (monitor.silence_s)
    "clipped_s": "REAL NOT NULL DEFAULT 0",
    "dead_air": "INTEGER NOT NULL DEFAULT 0",
    "audio_confirmed": "INTEGER",  # NULL: no power check; 1 confirmed by the draw; 0 not
    "power_w": "REAL",  # the most the meter read within the check's window (NULL: none)
    "power_reason": "TEXT NOT NULL DEFAULT ''",  # why the draw did not confirm it
}


class Store:
    """One connection, serialised by a lock: the runner writes, the API and CLI read."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()  # stamps updated_at, which orders a row's writes
        self._conn = Locked(path, _SCHEMA)
        self._db, self._lock, self._tx = self._conn.db, self._conn.lock, self._conn.tx
        with self._tx() as db:
            add_columns(db, "asrun", _ADDED)

    def close(self) -> None:
        self._conn.close()

    def open_rows(
        self,
        airing_id: str,
        slot: str,
        playlist: str,
        start: datetime,
        end: datetime,
        zones: list[tuple[str, datetime]],
        source: str = "schedule",
        priority: int = 50,
        exercise: bool = False,
    ) -> None:
        """Create the airing's rows (idempotent: a restart keeps the rows it finds)."""
        now = self._now()
        with self._tx() as db:
            for zone, zone_end in zones:
                db.execute(
                    "INSERT OR IGNORE INTO asrun (airing_id, slot, zone, planned_start,"
                    " planned_end, zone_end, playlist, updated_at, source, priority, exercise)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        airing_id,
                        slot,
                        zone,
                        to_stored(start),
                        to_stored(end),
                        to_stored(zone_end),
                        playlist,
                        now,
                        source,
                        priority,
                        int(exercise),
                    ),
                )

    def update(self, airing_id: str, zones: list[str] | None = None, **fields: Any) -> None:
        """Set columns on the airing's rows (all zones, or the ones named)."""
        bad = set(fields) - set(COLUMNS)
        if bad:
            raise ValueError(f"unknown as-run columns {sorted(bad)}")
        values = [stored_value(k, v) for k, v in fields.items()]
        sets = ", ".join(f"{k} = ?" for k in fields) + ", updated_at = ?"
        sql = f"UPDATE asrun SET {sets} WHERE airing_id = ?"
        params: list[Any] = [*values, self._now(), airing_id]
        if zones is not None:
            sql += f" AND zone IN ({','.join('?' * len(zones))})"
            params += zones
        with self._tx() as db:
            db.execute(sql, params)

    def close_open(
        self,
        airing_id: str,
        outcome: Outcome,
        reason: str,
        zones: list[str] | None = None,
        **fields: Any,
    ) -> None:
        """End the airing's still-open rows (all zones, or the ones named) with `outcome`."""
        sets = ", ".join(f"{k} = ?" for k in fields)
        sets = (
            sets + ", " if sets else ""
        ) + "outcome = ?, reason = ?, state = 'done', updated_at = ?"
        sql = f"UPDATE asrun SET {sets} WHERE airing_id = ? AND outcome IS NULL"
        values = [stored_value(k, v) for k, v in fields.items()]
        params: list[Any] = [*values, outcome, reason, self._now(), airing_id]
        if zones is not None:
            sql += f" AND zone IN ({','.join('?' * len(zones))})"
            params += zones
        with self._tx() as db:
            db.execute(sql, params)

    def rows(self, airing_id: str) -> list[AsRunRow]:
        return self._select("WHERE airing_id = ? ORDER BY zone", (airing_id,))

    def segment_rows(self, airing_id: str) -> list[AsRunRow]:
        """The rows of an airing and of its resumed segments, the latest written first."""
        pattern, _ = AiringId(airing_id).segments_like()
        return self._select(
            "WHERE airing_id = ? OR airing_id LIKE ? ESCAPE '\\' ORDER BY updated_at DESC, id DESC",
            (airing_id, pattern),
        )

    def preempted_open(self, now: datetime) -> list[str]:
        """Airings (base ids) whose latest segment was preempted and whose window is open."""
        with self._lock:
            cur = self._db.execute(
                "SELECT airing_id, outcome FROM asrun WHERE planned_end > ?"
                " ORDER BY updated_at, id",
                (to_stored(now),),
            )
            latest: dict[str, str | None] = {}
            for airing_id, outcome in cur.fetchall():
                latest[AiringId.base_of(airing_id)] = outcome
        return [base for base, outcome in latest.items() if outcome == "preempted"]

    def closed_by_shutdown(self, now: datetime) -> list[str]:
        """Airings an orderly stop ended whose window is still open (a restart may join)."""
        with self._lock:
            cur = self._db.execute(
                "SELECT DISTINCT airing_id, planned_end FROM asrun WHERE reason IN (?, ?)",
                (SHUTDOWN_STOPPED, SHUTDOWN_MISSED),
            )
            found = cur.fetchall()
        return [r[0] for r in found if from_stored(r[1]) > now]

    def reopen_after_shutdown(self, airing_id: str) -> None:
        """The restart joins an airing an orderly stop ended: its rows are open again."""
        with self._tx() as db:
            db.execute(
                "UPDATE asrun SET outcome = NULL, state = 'planned', reason = '', updated_at = ?"
                " WHERE airing_id = ? AND reason IN (?, ?)",
                (self._now(), airing_id, SHUTDOWN_STOPPED, SHUTDOWN_MISSED),
            )

    def open_airings(self) -> list[str]:
        with self._lock:
            cur = self._db.execute("SELECT DISTINCT airing_id FROM asrun WHERE outcome IS NULL")
            return [r[0] for r in cur.fetchall()]

    def known_airings(self, since: datetime) -> set[str]:
        with self._lock:
            cur = self._db.execute(
                "SELECT DISTINCT airing_id FROM asrun WHERE planned_end >= ?", (to_stored(since),)
            )
            return {r[0] for r in cur.fetchall()}

    def between(self, begin: datetime, until: datetime) -> list[AsRunRow]:
        return self._select(
            "WHERE planned_start >= ? AND planned_start < ? ORDER BY planned_start, zone",
            (to_stored(begin), to_stored(until)),
        )

    def _select(self, where: str, params: tuple[Any, ...]) -> list[AsRunRow]:
        with self._lock:
            cur = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM asrun {where}", params)
            raw = cur.fetchall()
        return [from_db(r) for r in raw]

    def get_state(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM station_state WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        """A station fact; the values of instant keys (`last_alive`) go in the one form."""
        if key in STATE_INSTANTS:
            value = to_stored(value)
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO station_state (key, value) VALUES (?, ?)", (key, value)
            )

    def _now(self) -> str:
        return to_stored(self._clock.now())
