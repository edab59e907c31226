"""Web console sessions: random cookie tokens, stored only hashed, that end after 12 hours."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from controller.access.users import token_hash
from controller.core.clock import Clock
from controller.core.db import Locked
from controller.core.instants import from_stored, to_stored

COOKIE = "bcsession"
LIFETIME = timedelta(hours=12)
KEEP_ENDED = timedelta(days=30)  # ended sessions stay this long, for whoever reads the table

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
"""


@dataclass(frozen=True)
class Session:
    user: str
    created_at: datetime
    expires_at: datetime


class SessionStore:
    """Sessions in the station database; one connection, serialised by a lock.

    It knows user names only: whether the user is still active is the caller's question
    (`UserStore.get`), so revoking a user ends its sessions too.
    """

    def __init__(self, path: Path, clock: Clock) -> None:
        self._conn = Locked(path, _SCHEMA)
        self._db, self._lock, self._tx = self._conn.db, self._conn.lock, self._conn.tx
        self._clock = clock

    def close(self) -> None:
        self._conn.close()

    def open(self, user: str) -> tuple[str, Session]:
        """A new session for `user`: its cookie token (never stored) and its times."""
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        session = Session(user, now, now + LIFETIME)
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (to_stored(now - KEEP_ENDED),))
            db.execute(
                "INSERT INTO sessions (hash, user, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_hash(token), user, to_stored(now), to_stored(session.expires_at)),
            )
        return token, session

    def lookup(self, token: str) -> Session | None:
        """The live (not revoked, not expired) session this token opens, else None."""
        digest = token_hash(token)
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM sessions WHERE hash = ? AND revoked_at IS NULL", (digest,)
            ).fetchone()
        if row is None or not hmac.compare_digest(str(row["hash"]), digest):
            return None
        session = Session(
            row["user"],
            from_stored(row["created_at"]),
            from_stored(row["expires_at"]),
        )
        return session if self._clock.now() < session.expires_at else None

    def revoke(self, token: str) -> Session | None:
        """End the session (logout); returns it if it was live."""
        session = self.lookup(token)
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL",
                (to_stored(self._clock.now()), token_hash(token)),
            )
        return session

