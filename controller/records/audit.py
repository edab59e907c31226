"""The audit trail: every change a person makes — who, when, from where, what, on what, why."""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from controller.access.users import Principal
from controller.core.clock import Clock, SystemClock
from controller.core.db import Locked
from controller.core.instants import from_stored, to_stored
from controller.core.stationtime import iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
"""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime  # aware, UTC
    user: str
    role: str
    source: str
    action: str
    target: str
    reason: str
    detail: dict[str, Any]

    def to_dict(self, tz: tzinfo) -> dict[str, object]:
        """JSON-ready, `at` in the zone `tz` (the station's, for people) to the millisecond."""
        return {**vars(self), "at": iso(self.at, tz, "milliseconds"), "detail": dict(self.detail)}


def cli_source() -> str:
    """Where a command-line change comes from: the local machine and its login."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a bare container
        login = "?"
    return f"cli:{login}"


class AuditLog:
    """Append-only audit rows in the station database; one connection, serialised by a lock."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self._conn = Locked(path, _SCHEMA)
        self._db, self._lock = self._conn.db, self._conn.lock
        self._clock = clock or SystemClock()

    def close(self) -> None:
        self._conn.close()

    def record(
        self,
        who: Principal | str,
        action: str,
        target: str,
        reason: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one row; a bare name is a local (command-line) actor; `detail` says what
        changed (JSON-ready values)."""
        row: tuple[str, str, str] = (
            (who.user, who.role, who.source_address)
            if isinstance(who, Principal)
            else (who, "", cli_source())
        )
        user, role, source = row
        at = to_stored(self._clock.now())
        extra = json.dumps(dict(detail or {}), ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO audit (at, user, role, source, action, target, reason, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (at, user, role, source, action, target, reason, extra),
            )

    def list(self, since: datetime | None = None, limit: int = 200) -> list[AuditEntry]:
        """The newest rows first (at most `limit`), optionally only those at or after `since`."""
        sql, params = "SELECT * FROM audit", []
        if since is not None:
            sql += " WHERE at >= ?"
            params.append(to_stored(since))
        sql += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [
            AuditEntry(**{**dict(r), "at": from_stored(r["at"]), "detail": json.loads(r["detail"])})
            for r in rows
        ]
