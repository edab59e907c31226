"""Refuse to start on a station database that vanished, instead of silently making a new one.

A new empty database would look like a fresh install: users, tokens, blackouts entered through
the API and overrides would be gone without a word. A marker beside the database says one
existed; `broadcastctl run --new-database` is the operator's way of saying "start afresh".
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path


class DatabaseVanished(RuntimeError):
    """The marker says a database was here, but the file is gone."""


def marker_for(db: Path) -> Path:
    return db.with_name(db.name + ".station")


def check_database(db: Path, *, allow_new: bool = False) -> None:
    """Raise DatabaseVanished if `db` existed before and is gone (unless `allow_new`)."""
    marker = marker_for(db)
    if db.exists() or not marker.exists() or allow_new:
        return
    try:
        created = json.loads(marker.read_text(encoding="utf-8")).get("created", "?")
    except (OSError, ValueError):
        created = "?"
    raise DatabaseVanished(
        f"台站数据库不见了：{db}（创建于 {created}）。用户、令牌、静默期和插播都在其中。"
        "请从备份恢复该文件；确认要新建空数据库时运行 broadcastctl run --new-database / "
        f"the station database {db} (created {created}) is missing; restore it from a backup, "
        "or start with `broadcastctl run --new-database` to create an empty one"
    )


def mark_database(db: Path) -> None:
    """Write the marker once the database exists (atomically; kept if already there)."""
    marker = marker_for(db)
    if marker.exists() or not db.exists():
        return
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(
        json.dumps({"created": datetime.now(UTC).isoformat(timespec="seconds")}), encoding="utf-8"
    )
    os.replace(tmp, marker)
