"""People who may change the station: users, their roles and their API tokens (hashed)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

from controller.db import Locked

Role = Literal["admin", "operator", "police"]
ROLES: tuple[Role, ...] = ("admin", "operator", "police")
NAME = re.compile(r"[\w.@-]{1,64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users (name),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user);
"""


class UserError(Exception):
    """A user command that cannot be done; the message is for the operator (中文 / English)."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user with a role, and where the request came from."""

    user: str
    role: Role
    source_address: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserStore:
    """Users and tokens in the station database; one connection, serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self._conn = Locked(path, _SCHEMA)
        self._db, self._lock, self._tx = self._conn.db, self._conn.lock, self._conn.tx

    def close(self) -> None:
        self._conn.close()

    def add(self, name: str, role: str) -> str:
        """Create the user and return its first API token (shown once, stored only hashed)."""
        if not NAME.fullmatch(name):
            raise UserError(f"用户名无效 / invalid user name {name!r} (letters, digits, . @ - _)")
        if role not in ROLES:
            raise UserError(f"角色无效 / unknown role {role!r} (use {', '.join(ROLES)})")
        with self._tx() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"用户已存在 / user {name!r} already exists")
            db.execute(
                "INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)", (name, role, _now())
            )
            return self._insert_token(db, name)

    def new_token(self, name: str) -> str:
        """Another token for an active user (the old ones keep working until revoked)."""
        with self._tx() as db:
            row = db.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UserError(f"没有此用户 / no user {name!r}")
            if row["revoked_at"] is not None:
                raise UserError(f"用户已吊销 / user {name!r} is revoked")
            return self._insert_token(db, name)

    def revoke(self, name: str) -> None:
        """Revoke the user and every token it has; its audit rows stay."""
        now = _now()
        with self._tx() as db:
            row = db.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UserError(f"没有此用户 / no user {name!r}")
            if row["revoked_at"] is not None:
                raise UserError(f"用户已吊销 / user {name!r} is already revoked")
            db.execute("UPDATE users SET revoked_at = ? WHERE name = ?", (now, name))
            db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL",
                (now, name),
            )

    def get(self, name: str) -> User | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else _user(row)

    def list(self) -> list[User]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [_user(r) for r in rows]

    def authenticate(self, token: str) -> User | None:
        """The active user holding this active token, else None."""
        digest = token_hash(token)
        with self._lock:
            row = self._db.execute(
                "SELECT t.hash, u.* FROM tokens t JOIN users u ON u.name = t.user"
                " WHERE t.hash = ? AND t.revoked_at IS NULL AND u.revoked_at IS NULL",
                (digest,),
            ).fetchone()
        # The lookup is by a hash the caller cannot steer; the constant-time compare is belt
        # and braces against an index that matched on a prefix.
        if row is None or not hmac.compare_digest(str(row["hash"]), digest):
            return None
        return _user(row)

    @staticmethod
    def _insert_token(db: sqlite3.Connection, name: str) -> str:
        token = secrets.token_urlsafe(32)
        db.execute(
            "INSERT INTO tokens (hash, user, created_at) VALUES (?, ?, ?)",
            (token_hash(token), name, _now()),
        )
        return token


def _user(row: sqlite3.Row) -> User:
    return User(
        name=row["name"],
        role=cast(Role, row["role"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")
