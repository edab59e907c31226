"""The media library: clips on disk under <home>/library/<id>/ and their rows in SQLite."""

from __future__ import annotations

import builtins
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.config.models import MediaConfig
from controller.core.db import Locked
from controller.media.analyse import IngestError
from controller.media.clip import (
    COLUMNS,
    SCHEMA,
    STATUSES,
    Clip,
    ClipStatus,
    check_window,
    clean_tags,
    from_row,
    parse_when,
    to_row,
)
from controller.media.ingest import check_size, copy_and_hash, fsync_dir, prepare
from controller.playout.decode import find_ffmpeg

__all__ = ["Clip", "ClipStatus", "IngestError", "MediaLibrary"]
STALE_STAGING_S = 3600.0  # a staging folder this old belongs to an ingest that crashed


class MediaLibrary:
    """Ingests uploads and answers what is in the library; thread-safe, one connection.

    Rows hold paths relative to `home` (library/<id>/…), so moving a clip's folder between
    homes changes no row. A clip not yet moved out of `legacy` (station.media_dir, where
    uploads lived before they moved under data_dir) is read from there: the CLI, or a start-up
    that stopped halfway through the move, sees every clip either way (controller.media.move).
    """

    def __init__(
        self, db_path: Path, home: Path, cfg: MediaConfig, *, legacy: Path | None = None,
        ffmpeg: str | None = None,
    ) -> None:  # fmt: skip
        self.home = home.resolve()
        self.root = self.home / "library"
        self.root.mkdir(parents=True, exist_ok=True)
        old = None if legacy is None else legacy.resolve()
        self.legacy = None if old == self.home else old
        self.cfg = cfg
        self.ffmpeg = ffmpeg or find_ffmpeg()
        self._conn = Locked(db_path, SCHEMA)
        self._db, self._lock, self._tx = self._conn.db, self._conn.lock, self._conn.tx
        self._claims: dict[str, tuple[threading.Lock, int]] = {}
        self._claims_lock = threading.Lock()
        self._sweep()

    def close(self) -> None:
        self._conn.close()

    def ingest(
        self, src: Path, *, title: str, uploader: str, source: str, original_name: str,
        tags: Sequence[str] = (), valid_from: datetime | None = None,
        valid_until: datetime | None = None, approved: bool = False,
        progress: Callable[[float], None] | None = None,
    ) -> tuple[Clip, bool]:  # fmt: skip
        """Check and normalise `src` (left untouched) → (clip, created); same bytes → existing."""
        start, end = parse_when(valid_from, "valid_from"), parse_when(valid_until, "valid_until")
        check_window(start, end)
        tag_list = clean_tags(tags)
        done = 0.0

        def report(fraction: float) -> None:
            nonlocal done
            if progress is not None and fraction > done:
                done = fraction
                progress(min(1.0, fraction))

        check_size(src, self.cfg)
        staging = self.root / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            sha = copy_and_hash(src, staging / "upload", self.cfg)
            report(0.05)
            with self._claim(sha):
                existing = self._by_sha(sha)
                if existing is not None:
                    report(1.0)
                    return existing, False
                staged = prepare(staging, staging / "upload", self.cfg, self.ffmpeg, report)
                clip = Clip(
                    id=sha[:12], title=" ".join(title.split())[:200] or sha[:12],
                    uploader=uploader, source=source, sha256=sha,
                    original_name=original_name.replace("\x00", "")[:255],
                    duration_s=round(staged.duration_s, 3),
                    lufs_in=staged.loudness_in.lufs, peak_in=staged.loudness_in.peak,
                    lufs_out=staged.loudness_out.lufs, peak_out=staged.loudness_out.peak,
                    status="approved" if approved else "pending", valid_from=start,
                    valid_until=end, tags=tag_list,
                    path=self.root / sha[:12] / staged.normalised.name,
                    original_path=self.root / sha[:12] / staged.original.name,
                    created_at=datetime.now(UTC), normalisation=staged.normalisation,
                )  # fmt: skip
                published = self._publish(staging, clip)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        report(1.0)
        return published, published is clip

    def get(self, clip_id: str) -> Clip | None:
        rows = self._query("SELECT * FROM media WHERE id = ?", (clip_id,))
        return rows[0] if rows else None

    def list(
        self, *, status: ClipStatus | None = None, tag: str | None = None, source: str | None = None
    ) -> builtins.list[Clip]:
        sql, args = "SELECT * FROM media WHERE 1", []
        for column, value in (("status", status), ("source", source)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        clips = self._query(sql + " ORDER BY created_at, id", tuple(args))
        return [c for c in clips if tag is None or tag in c.tags]

    def update(self, clip_id: str, **fields: Any) -> Clip:
        """Change status, title, tags or the validity window; KeyError if no such clip."""
        clip = self.get(clip_id)
        if clip is None:
            raise KeyError(clip_id)
        changes: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "status":
                if value not in STATUSES:
                    raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {value!r}")
                changes[name] = value
            elif name == "title":
                if not isinstance(value, str) or not value.strip():
                    raise ValueError("title must be a non-empty string")
                changes[name] = " ".join(value.split())[:200]
            elif name == "tags":
                changes[name] = clean_tags(value)
            elif name in ("valid_from", "valid_until"):
                changes[name] = parse_when(value, name)
            else:
                raise ValueError(f"{name!r} cannot be changed (status, title, tags, validity)")
        updated = replace(clip, **changes)
        check_window(updated.valid_from, updated.valid_until)
        row = to_row(self._home_of(clip.path), updated)
        sets = ", ".join(f"{name} = ?" for name in (*changes, "updated_at"))
        with self._tx() as db:
            db.execute(
                f"UPDATE media SET {sets} WHERE id = ?",
                (*(row[name] for name in changes), row["updated_at"], clip_id),
            )
        return updated

    # -- internals -------------------------------------------------------------------------

    def _publish(self, staging: Path, clip: Clip) -> Clip:
        """Move the staged folder into place (one rename), then record the row."""
        final = self.root / clip.id
        fsync_dir(staging)
        if final.exists():  # left by a crash between rename and insert, or another process
            existing = self._by_sha(clip.sha256)
            if existing is not None:
                return existing
            trash = self.root / f".trash-{uuid.uuid4().hex}"
            final.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        staging.rename(final)
        fsync_dir(self.root)
        try:
            with self._tx() as db:
                row = to_row(self.home, clip)
                inserted = db.execute(
                    f"INSERT INTO media ({', '.join(COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(COLUMNS))}) ON CONFLICT DO NOTHING",
                    tuple(row[name] for name in COLUMNS),
                ).rowcount
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        if not inserted:  # another process recorded the same bytes first
            existing = self._by_sha(clip.sha256)
            if existing is None:
                raise RuntimeError(f"clip id {clip.id} is taken by different content")
            return existing
        return clip

    @contextmanager
    def _claim(self, sha: str) -> Iterator[None]:
        """Serialise ingests of the same content within this process."""
        with self._claims_lock:
            lock, users = self._claims.get(sha, (threading.Lock(), 0))
            self._claims[sha] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._claims_lock:
                lock, users = self._claims[sha]
                if users == 1:
                    del self._claims[sha]
                else:
                    self._claims[sha] = (lock, users - 1)

    def _sweep(self) -> None:
        """Remove what crashed ingests left: staging folders, and clip folders with no row."""
        with self._lock:
            known = {row[0] for row in self._db.execute("SELECT id FROM media")}
        orphans = [p for p in self.root.glob("?" * 12) if p.name not in known]
        for leftover in [*self.root.glob(".staging-*"), *self.root.glob(".trash-*"), *orphans]:
            try:
                if time.time() - leftover.stat().st_mtime > STALE_STAGING_S:
                    shutil.rmtree(leftover, ignore_errors=True)
            except FileNotFoundError:
                pass

    def _by_sha(self, sha: str) -> Clip | None:
        rows = self._query("SELECT * FROM media WHERE sha256 = ?", (sha,))
        return rows[0] if rows else None

    def _query(self, sql: str, args: tuple[Any, ...]) -> builtins.list[Clip]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [from_row(self._home_of_id(row["id"]), row) for row in rows]

    def _home_of_id(self, clip_id: str) -> Path:
        """`legacy` while the clip's folder is there and not (yet) in `home`."""
        if self.legacy is None or (self.root / clip_id).is_dir():
            return self.home
        return self.legacy if (self.legacy / "library" / clip_id).is_dir() else self.home

    def _home_of(self, path: Path) -> Path:
        legacy = self.legacy
        return legacy if legacy is not None and path.is_relative_to(legacy) else self.home
