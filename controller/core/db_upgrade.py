"""Bring a station database written by an earlier release up to today's form, in place.

The version lives in SQLite's `PRAGMA user_version`: 0 is every release before the one-clock
change (instants as ISO text in whatever offset each writer used: slots `+08:00`, overrides,
relays and audit in UTC, users and `updated_at` in the host's zone), 1 is the one stored form
(controller/core/instants.py). A new database is born at the current version. The upgrade runs in
one BEGIN IMMEDIATE transaction that checks the version again inside it, so when the engine
and the API open the same file at once, one upgrades and the other sees it done.
"""

from __future__ import annotations

import logging
import sqlite3

from controller.core.instants import from_stored, to_stored

log = logging.getLogger(__name__)

VERSION = 1
# Every column, in every store's table, that holds an instant.
INSTANTS: dict[str, tuple[str, ...]] = {
    "asrun": (
        "planned_start", "planned_end", "zone_end", "relay_on_at", "audio_start", "audio_end",
        "relay_off_at", "joined_at", "updated_at",
    ),
    "blackouts": ("start", "end", "created_at", "deleted_at"),
    "overrides": ("start", "end", "created_at", "ended_at"),
    "audit": ("at",),
    "users": ("created_at", "revoked_at"),
    "tokens": ("created_at", "revoked_at"),
    "sessions": ("created_at", "expires_at", "revoked_at"),
    "media": ("valid_from", "valid_until", "created_at", "updated_at"),
    "alerts": ("at",),
    "alert_deliveries": ("next_at", "sent_at"),
}  # fmt: skip
# station_state keys whose value is an instant.
STATE_INSTANTS = ("last_alive",)


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def upgrade(db: sqlite3.Connection) -> None:
    """Upgrade `db` (an autocommit connection) to VERSION if it is older; a no-op after."""
    if version(db) >= VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if version(db) < VERSION:
            changed = _instants_to_utc(db)
            db.execute(f"PRAGMA user_version = {VERSION}")
            if changed:
                log.warning("station database upgraded: %d stored times now in UTC", changed)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _instants_to_utc(db: sqlite3.Connection) -> int:
    """Rewrite every stored instant in the one form; the same instant, never another one."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    changed = 0
    for table, wanted in INSTANTS.items():
        if table not in tables:
            continue
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        for column in (c for c in wanted if c in have):
            rows = db.execute(
                f'SELECT rowid, "{column}" FROM {table} WHERE "{column}" IS NOT NULL'
            ).fetchall()
            for rowid, text in rows:
                changed += _rewrite(db, f'UPDATE {table} SET "{column}" = ? WHERE rowid = ?',
                                    rowid, text, f"{table}.{column}")  # fmt: skip
    if "station_state" in tables:
        for key in STATE_INSTANTS:
            row = db.execute("SELECT value FROM station_state WHERE key = ?", (key,)).fetchone()
            if row is not None:
                changed += _rewrite(db, "UPDATE station_state SET value = ? WHERE key = ?",
                                    key, row[0], f"station_state.{key}")  # fmt: skip
    return changed


def _rewrite(db: sqlite3.Connection, sql: str, key: object, text: object, where: str) -> int:
    try:
        stored = to_stored(from_stored(str(text)))  # a time without an offset: UTC, as read
    except ValueError:  # not a time at all: keep it as it is, and say so
        log.error("station database upgrade: %s = %r is not a time; left as it is", where, text)
        return 0
    if stored == text:
        return 0
    db.execute(sql, (stored, key))
    return 1
