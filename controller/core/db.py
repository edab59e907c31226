"""The station database's conventions, in one place: WAL, synchronous=FULL, one connection per
store serialised by a lock, explicit BEGIN IMMEDIATE transactions, instants in one stored form
(controller/core/instants.py), older databases upgraded in place when a store opens them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from controller.core.db_upgrade import upgrade


def open_db(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=FULL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000"):
        db.execute(f"PRAGMA {pragma}")
    return db


class Locked:
    """A connection shared by threads (runner, API, player): one statement or transaction at
    a time. Stores hold one and use `tx()` for writes, `lock` for reads."""

    def __init__(self, path: Path, schema: str) -> None:
        self.db = open_db(path)
        self.lock = threading.Lock()
        self.db.executescript(schema)
        upgrade(self.db)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")


def add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Bring an older database up to date: add the named columns where they are missing."""
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, decl in columns.items():
        if name not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
