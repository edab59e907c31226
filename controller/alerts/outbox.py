"""The alert queue in the station database: each alert, and its delivery on each channel.

An alert row is written by whoever raised it (the engine, or the supervisor for a crash:
`routed = 0`, judged by the engine when it next looks); the engine's router decides whether
it goes out (`routed = 1`, one delivery row per channel) or repeats one still open
(`routed = 2`). Deliveries wait here until sent, so alerts queued before a restart go out
after it. Instants in the one stored form (controller/core/instants.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from controller.alerts.events import Alert, Kind
from controller.alerts.policy import LastSent
from controller.core.db import Locked
from controller.core.instants import from_stored, from_stored_or_none, to_stored
from controller.core.stationtime import iso, iso_or_none

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    severity TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    clears INTEGER NOT NULL DEFAULT 0,
    routed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alerts_key ON alerts (key, routed, id);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT,
    sent_at TEXT,
    PRIMARY KEY (alert_id, channel)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (state, channel, next_at);
"""
NEW, SENT_OUT, REPEATED = 0, 1, 2
DeliveryState = Literal["pending", "sent", "failed"]  # failed: given up after retry_for_s


@dataclass(frozen=True)
class Delivery:
    alert_id: int
    channel: str
    state: DeliveryState
    attempts: int
    next_at: datetime
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class StoredAlert:
    id: int
    alert: Alert
    routed: int
    deliveries: tuple[Delivery, ...] = ()

    def to_dict(self, tz: tzinfo) -> dict[str, Any]:
        """What the API shows, in the station's time."""
        a = self.alert
        return {
            "id": self.id, "kind": a.kind, "subject": a.subject, "severity": a.severity,
            "text": a.text, "at": iso(a.at, tz), "clears": a.clears,
            "state": {NEW: "queued", SENT_OUT: "routed", REPEATED: "deduplicated"}[self.routed],
            "deliveries": [
                {"channel": d.channel, "state": d.state, "attempts": d.attempts,
                 "next_at": iso(d.next_at, tz) if d.state == "pending" else None,
                 "error": d.last_error, "sent_at": iso_or_none(d.sent_at, tz)}
                for d in self.deliveries
            ],
        }  # fmt: skip


class AlertOutbox:
    def __init__(self, path: Path) -> None:
        self._db = Locked(path, SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- writing --------------------------------------------------------------------------------

    def add(self, alert: Alert, routed: int = NEW) -> int:
        with self._db.tx() as db:
            cur = db.execute(
                "INSERT INTO alerts (key, kind, subject, severity, text, at, clears, routed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (alert.key, alert.kind, alert.subject, alert.severity, alert.text,
                 to_stored(alert.at), int(alert.clears), routed),
            )  # fmt: skip
            return int(cur.lastrowid or 0)

    def route(self, alert_id: int, channels: list[str], due: datetime) -> None:
        """The alert goes out: one pending delivery per channel (none: kept as sent out)."""
        with self._db.tx() as db:
            db.execute("UPDATE alerts SET routed = ? WHERE id = ?", (SENT_OUT, alert_id))
            db.executemany(
                "INSERT OR IGNORE INTO alert_deliveries (alert_id, channel, state, next_at)"
                " VALUES (?, ?, 'pending', ?)",
                [(alert_id, name, to_stored(due)) for name in channels],
            )

    def repeated(self, alert_id: int) -> None:
        with self._db.tx() as db:
            db.execute("UPDATE alerts SET routed = ? WHERE id = ?", (REPEATED, alert_id))

    def attempted(self, alert_id: int, channel: str, *, error: str | None, at: datetime,
                  retry_at: datetime | None) -> None:  # fmt: skip
        """One attempt: sent (no error), to be retried at `retry_at`, or given up (None)."""
        state = "sent" if error is None else ("pending" if retry_at is not None else "failed")
        with self._db.tx() as db:
            db.execute(
                "UPDATE alert_deliveries SET state = ?, attempts = attempts + 1, next_at = ?,"
                " last_error = ?, sent_at = ? WHERE alert_id = ? AND channel = ?",
                (state, to_stored(retry_at or at), error,
                 to_stored(at) if error is None else None, alert_id, channel),
            )  # fmt: skip

    # -- reading --------------------------------------------------------------------------------

    def unrouted(self, limit: int = 100) -> list[StoredAlert]:
        with self._db.lock:
            rows = self._db.db.execute(
                "SELECT * FROM alerts WHERE routed = ? ORDER BY id LIMIT ?", (NEW, limit)
            ).fetchall()
        return [_alert(r) for r in rows]

    def last_sent(self, key: str) -> LastSent | None:
        with self._db.lock:
            row = self._db.db.execute(
                "SELECT at, clears, severity FROM alerts WHERE key = ? AND routed = ?"
                " ORDER BY id DESC LIMIT 1",
                (key, SENT_OUT),
            ).fetchone()
        if row is None:
            return None
        return LastSent(from_stored(row["at"]), bool(row["clears"]), row["severity"])

    def open_keys(self, prefix: str) -> list[tuple[str, datetime]]:
        """Keys under `prefix` whose last alert sent out is a fault (no all-clear yet)."""
        with self._db.lock:
            rows = self._db.db.execute(
                "SELECT a.key, a.at, a.clears FROM alerts a JOIN (SELECT key, MAX(id) AS id"
                " FROM alerts WHERE routed = ? AND key LIKE ? GROUP BY key) l ON a.id = l.id",
                (SENT_OUT, prefix.replace("%", "") + "%"),
            ).fetchall()
        return [(r["key"], from_stored(r["at"])) for r in rows if not r["clears"]]

    def due(self, channel: str, now: datetime, limit: int = 20) -> list[StoredAlert]:
        """Pending deliveries on `channel` whose time has come, oldest first."""
        with self._db.lock:
            rows = self._db.db.execute(
                "SELECT a.* FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id"
                " WHERE d.state = 'pending' AND d.channel = ? AND d.next_at <= ?"
                " ORDER BY d.next_at, a.id LIMIT ?",
                (channel, to_stored(now), limit),
            ).fetchall()
        return self._with_deliveries(rows)

    def next_due(self, channel: str) -> datetime | None:
        with self._db.lock:
            row = self._db.db.execute(
                "SELECT MIN(next_at) FROM alert_deliveries WHERE state = 'pending' AND channel = ?",
                (channel,),
            ).fetchone()
        return from_stored_or_none(row[0])

    def recent(self, limit: int = 100) -> list[StoredAlert]:
        with self._db.lock:
            rows = self._db.db.execute(
                "SELECT * FROM alerts ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return self._with_deliveries(rows)

    def _with_deliveries(self, rows: list[Any]) -> list[StoredAlert]:
        ids = [r["id"] for r in rows]
        found: dict[int, list[Delivery]] = {i: [] for i in ids}
        if ids:
            marks = ",".join("?" * len(ids))
            with self._db.lock:
                for d in self._db.db.execute(
                    f"SELECT * FROM alert_deliveries WHERE alert_id IN ({marks})"
                    " ORDER BY channel", ids,
                ):  # fmt: skip
                    found[d["alert_id"]].append(_delivery(d))
        return [_alert(r, tuple(found[r["id"]])) for r in rows]


def _alert(row: Any, deliveries: tuple[Delivery, ...] = ()) -> StoredAlert:
    kind: Kind = row["kind"]
    alert = Alert(kind, row["subject"], row["severity"], row["text"], from_stored(row["at"]),
                  row["key"], bool(row["clears"]))  # fmt: skip
    return StoredAlert(int(row["id"]), alert, int(row["routed"]), deliveries)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        int(row["alert_id"]), row["channel"], row["state"], int(row["attempts"]),
        from_stored(row["next_at"]), row["last_error"], from_stored_or_none(row["sent_at"]),
    )  # fmt: skip


def raise_elsewhere(db_path: Path, alert: Alert) -> None:
    """An alert from a process without a notifier (the supervisor): queued for the engine,
    which judges and sends it when it next looks."""
    outbox = AlertOutbox(db_path)
    try:
        outbox.add(alert, NEW)
    finally:
        outbox.close()
