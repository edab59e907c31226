"""A clip of the media library, as the player, API and CLI see it, and its SQLite row."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal, get_args

from controller.core.instants import from_stored, to_stored
from controller.core.stationtime import iso

ClipStatus = Literal["pending", "approved", "rejected", "retired"]
STATUSES: tuple[str, ...] = get_args(ClipStatus)

SCHEMA = """
CREATE TABLE IF NOT EXISTS media (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    uploader TEXT NOT NULL,
    source TEXT NOT NULL,
    original_name TEXT NOT NULL,
    duration_s REAL NOT NULL,
    lufs_in REAL NOT NULL,
    peak_in REAL NOT NULL,
    lufs_out REAL NOT NULL,
    peak_out REAL NOT NULL,
    normalisation TEXT NOT NULL,
    status TEXT NOT NULL,
    valid_from TEXT,
    valid_until TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    path TEXT NOT NULL,
    original_path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS media_status ON media (status);
"""
COLUMNS = (
    "id", "sha256", "title", "uploader", "source", "original_name", "duration_s", "lufs_in",
    "peak_in", "lufs_out", "peak_out", "normalisation", "status", "valid_from", "valid_until",
    "tags", "path", "original_path", "created_at", "updated_at",
)  # fmt: skip


@dataclass(frozen=True)
class Clip:
    """One clip: the kept original, its normalised copy, what ingest measured, its status."""

    id: str  # the first 12 hex digits of sha256
    title: str
    uploader: str
    source: str  # "upload" | "cli" | "sample"
    sha256: str  # of the original upload's bytes
    original_name: str  # as uploaded; metadata only, never a path
    duration_s: float  # of the normalised copy
    lufs_in: float
    peak_in: float  # dBTP
    lufs_out: float
    peak_out: float
    status: ClipStatus
    valid_from: datetime | None
    valid_until: datetime | None
    tags: tuple[str, ...]
    path: Path  # the normalised WAV: 48 kHz, stereo, s16
    original_path: Path
    created_at: datetime
    normalisation: str = "linear"  # "linear", "limited" (peak-limited) or "dynamic" (loudnorm)

    def to_dict(self, tz: tzinfo) -> dict[str, Any]:
        """JSON-ready; times in the station's zone `tz`; paths as file names only, so no server
        layout leaks out."""
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            if isinstance(value, Path):
                value = value.name
            elif isinstance(value, datetime):
                value = iso(value, tz)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    def playable(self, now: datetime) -> bool:
        """Approved and now inside [valid_from, valid_until)."""
        if self.status != "approved":
            return False
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.valid_until is None or now < self.valid_until


def parse_when(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{field}: {value!r} is not an ISO date-time") from exc
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{field} must be a date-time with a time zone, not {value!r}")
    return value


def clean_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(t, str) for t in value):
        raise ValueError(f"tags must be a list of strings, not {value!r}")
    return tuple(dict.fromkeys(t.strip() for t in value if t.strip()))


def check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValueError(f"valid_until ({end}) must be after valid_from ({start})")


def to_row(media_dir: Path, clip: Clip) -> dict[str, Any]:
    """The media table's row for `clip`: stored instants, JSON tags, paths relative to
    media_dir."""
    row = {name: getattr(clip, name, None) for name in COLUMNS}
    for name in ("valid_from", "valid_until", "created_at"):
        when = row[name]
        row[name] = to_stored(when) if isinstance(when, datetime) else None
    row["tags"] = json.dumps(list(clip.tags), ensure_ascii=False)
    row["path"] = str(clip.path.relative_to(media_dir))
    row["original_path"] = str(clip.original_path.relative_to(media_dir))
    row["updated_at"] = to_stored(datetime.now(UTC))
    return row


def from_row(media_dir: Path, row: sqlite3.Row) -> Clip:
    values = {name: row[name] for name in COLUMNS if name != "updated_at"}
    for name in ("valid_from", "valid_until", "created_at"):
        values[name] = None if row[name] is None else from_stored(row[name])
    values["tags"] = tuple(json.loads(row["tags"]))
    values["path"] = media_dir / row["path"]
    values["original_path"] = media_dir / row["original_path"]
    return Clip(**values)
