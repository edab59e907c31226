"""Once, at the engine's start: move the library's clips out of the checkout to their home.

Uploads used to live under station.media_dir (audio/, inside the checkout, where
`git clean -fdx` wipes them); now they live under station.library_dir (<data_dir>/media).
Rows hold paths relative to the library's home (library/<id>/…), so the move changes no
row: each clip's folder is in one place or the other, and the library reads it from either
(MediaLibrary's `legacy`). That is what makes a crash at any step lose nothing:

1. within one filesystem the folder is renamed, one atomic step;
2. across filesystems it is copied into <home>/library/.moving-<id>, every file and the
   folder fsynced, then renamed to <id>: a copy cut short is never taken for the clip;
3. only then is the old folder deleted, and a run that finds both deletes the old one.

Only folders a row names move; anything else in the old folder stays put.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path

from controller.media.ingest import fsync_dir

log = logging.getLogger(__name__)
STAGING = ".moving-"  # a copy under way; only this module makes them, under the engine's lock


def move_library(db_path: Path, legacy: Path, home: Path) -> list[str]:
    """Move each clip folder a row names from <legacy>/library/ to <home>/library/; the ids
    moved (none the second time). The caller holds the engine's lock: one mover at a time."""
    old_root, new_root = legacy.resolve() / "library", home.resolve() / "library"
    if old_root == new_root or not old_root.is_dir():
        return []
    known = _clip_files(db_path)
    waiting = [i for i in known if (old_root / i).is_dir()]
    if not waiting:
        return []
    new_root.mkdir(parents=True, exist_ok=True)
    for leftover in new_root.glob(f"{STAGING}*"):  # a copy a crash cut short
        shutil.rmtree(leftover)
    moved = []
    for clip_id in sorted(waiting):
        src, dst = old_root / clip_id, new_root / clip_id
        if not _complete(dst, known[clip_id], new_root.parent):
            if not _complete(src, known[clip_id], old_root.parent):
                log.warning("library clip %s is incomplete in %s: left where it is", clip_id, src)
                continue
            if dst.exists():  # not a folder this module made whole: the old one is the clip
                shutil.rmtree(dst)
            _move_folder(src, dst)
        if src.exists():
            shutil.rmtree(src)
            fsync_dir(old_root)
        moved.append(clip_id)
    if moved:
        log.info(
            "媒体库已迁出程序目录 / moved %d library clip(s) from %s to %s: %s",
            len(moved), old_root, new_root, ", ".join(moved),
        )  # fmt: skip
    return moved


def _clip_files(db_path: Path) -> dict[str, tuple[str, ...]]:
    """Each clip's id and the files its row names, relative to the library's home."""
    if not db_path.is_file():
        return {}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'media'").fetchone() is None:
            return {}
        rows = db.execute("SELECT id, path, original_path FROM media").fetchall()
    finally:
        db.close()
    return {clip_id: (path, original) for clip_id, path, original in rows}


def _complete(folder: Path, files: tuple[str, ...], home: Path) -> bool:
    return folder.is_dir() and all((home / name).is_file() for name in files)


def _move_folder(src: Path, dst: Path) -> None:
    if _same_filesystem(src, dst.parent):
        os.rename(src, dst)
    else:
        staging = dst.parent / f"{STAGING}{dst.name}"
        shutil.copytree(src, staging)
        for path in staging.rglob("*"):
            if path.is_file():
                _fsync_file(path)
        fsync_dir(staging)
        os.rename(staging, dst)
    fsync_dir(dst.parent)


def _same_filesystem(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
