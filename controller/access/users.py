"""People who may change the station: users, their roles, API tokens and passwords (hashed)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Literal, cast

from controller.core.clock import Clock, SystemClock
from controller.core.db import Locked, add_columns
from controller.core.instants import from_stored, from_stored_or_none, to_stored
from controller.core.stationtime import iso, iso_or_none

Role = Literal["admin", "operator", "police"]
ROLES: tuple[Role, ...] = ("admin", "operator", "police")
NAME = re.compile(r"[\w.@-]{1,64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    password_hash TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users (name),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user);
"""
# password_hash: "scrypt$n$r$p$salt_hex$hash_hex", NULL: no password. Added after the first
# release; an older database gets the column on open.

# scrypt's cost: about 16 MiB and a few tens of milliseconds per check on the station's PC.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
PASSWORD_MIN, PASSWORD_MAX = 8, 1024


class UserError(Exception):
    """A user command that cannot be done; the message is for the operator (中文 / English)."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: datetime  # aware, UTC
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self, tz: tzinfo) -> dict[str, str | None]:
        """JSON-ready, times in the station's zone `tz`."""
        return {
            "name": self.name,
            "role": self.role,
            "created_at": iso(self.created_at, tz),
            "revoked_at": iso_or_none(self.revoked_at, tz),
        }


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user with a role, and where the request came from."""

    user: str
    role: Role
    source_address: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class UserStore:
    """Users, tokens and passwords in the station database; one connection, serialised by a
    lock."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._conn = Locked(path, _SCHEMA)
        self._db, self._lock, self._tx = self._conn.db, self._conn.lock, self._conn.tx
        with self._tx() as db:
            add_columns(db, "users", {"password_hash": "TEXT"})

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
                "INSERT INTO users (name, role, created_at) VALUES (?, ?, ?)",
                (name, role, self._now()),
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
        now = self._now()
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

    def set_password(self, name: str, password: str) -> None:
        """Give an active user a (new) password; its tokens keep working."""
        if len(password) < PASSWORD_MIN:
            n = PASSWORD_MIN
            raise UserError(f"密码至少 {n} 个字符 / a password needs at least {n} characters")
        if len(password) > PASSWORD_MAX:
            raise UserError(f"密码过长 / password longer than {PASSWORD_MAX} characters")
        stored = hash_password(password)  # the slow part, outside the lock
        with self._tx() as db:
            row = db.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UserError(f"没有此用户 / no user {name!r}")
            if row["revoked_at"] is not None:
                raise UserError(f"用户已吊销 / user {name!r} is revoked")
            db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (stored, name))

    def check_password(self, name: str, password: str) -> User | None:
        """The active user with this name and password, else None.

        An unknown name, a revoked user and a user without a password cost the same scrypt
        work as a wrong password, so the answer's timing does not tell which names exist.
        """
        with self._lock:
            row = self._db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        stored = None if row is None or row["revoked_at"] is not None else row["password_hash"]
        if stored is None:
            verify_password(password, _decoy_hash())
            return None
        return _user(row) if verify_password(password, stored) else None

    def _insert_token(self, db: sqlite3.Connection, name: str) -> str:
        token = secrets.token_urlsafe(32)
        db.execute(
            "INSERT INTO tokens (hash, user, created_at) VALUES (?, ?, ?)",
            (token_hash(token), name, self._now()),
        )
        return token

    def _now(self) -> str:
        return to_stored(self._clock.now())


def hash_password(password: str) -> str:
    """A fresh-salted scrypt hash, as stored: "scrypt$n$r$p$salt_hex$hash_hex"."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a stored hash (compared in constant time); a malformed
    stored value matches nothing."""
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(hash_hex)
        digest = _scrypt(password, salt, int(n), int(r), int(p), len(expected))
    except (ValueError, OverflowError):  # field count, hex, numbers, parameters scrypt refuses
        return False
    return hmac.compare_digest(digest, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
    secret = password.encode("utf-8", "surrogatepass")  # JSON may carry lone surrogates
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=length)


@functools.cache
def _decoy_hash() -> str:
    """A hash nobody knows the password of, checked when there is no real one to check."""
    return hash_password(secrets.token_urlsafe(16))


def _user(row: sqlite3.Row) -> User:
    return User(
        name=row["name"],
        role=cast(Role, row["role"]),
        created_at=from_stored(row["created_at"]),
        revoked_at=from_stored_or_none(row["revoked_at"]),
    )
