"""Air-check retention: recordings deleted by age and by a disk budget; the disk's free space."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

GB = 10**9  # decimal, as disks are sold and `df -H` shows
# .wav: the recordings made before air-checks were FLAC still age out and count to the budget.
SUFFIXES = (".flac", ".wav")


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


DiskUsageFn = Callable[[Path], DiskUsage]


def _disk_usage(path: Path) -> DiskUsage:
    total, used, free = shutil.disk_usage(path)
    return DiskUsage(total, used, free)


@dataclass(frozen=True)
class StorageReport:
    """The air-check folder's disk as the status shows it; `warning` is for the operator."""

    dir: Path
    free_bytes: int | None  # None: the disk could not be read (`error` says why)
    total_bytes: int | None
    recordings: int  # files in the folder (as of the last look)
    recordings_bytes: int
    keep_days: int
    max_bytes: int
    min_free_bytes: int
    error: str | None = None

    @property
    def low(self) -> bool:
        return self.free_bytes is not None and self.free_bytes < self.min_free_bytes

    @property
    def warning(self) -> str | None:
        if self.error is not None:
            return f"无法读取录音盘空间 / cannot read the air-check disk: {self.error}"
        if self.low:
            free, floor = _gb(self.free_bytes or 0), _gb(self.min_free_bytes)
            return (
                f"录音盘剩余空间不足：剩 {free} GB，低于 {floor} GB / "
                f"air-check disk nearly full: {free} GB free, below {floor} GB"
            )
        return None


def _gb(n: int) -> str:
    return f"{n / GB:.1f}"


class AircheckStore:
    """The folder of air-check recordings: what is kept, what goes, how full the disk is.

    Oldest first, by modification time: past `keep_days`, then while the folder (the recording
    on air included) is over `max_bytes`. The files in `keep` (the one being written) never go.
    `now` and `disk_usage` are injectable so tests can age files and fill disks without either.
    """

    def __init__(
        self,
        dir: Path,
        keep_days: int = 31,
        max_bytes: int = 10 * GB,
        min_free_bytes: int = 2 * GB,
        *,
        now: Callable[[], float] = time.time,
        disk_usage: DiskUsageFn = _disk_usage,
    ) -> None:
        self.dir = Path(dir)
        self.keep_days = keep_days
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self.now = now
        self.disk_usage = disk_usage
        self._lock = threading.Lock()  # the writer thread prunes; the status reads
        self._seen: tuple[int, int] | None = None  # (files, bytes) at the last look

    def recordings(self) -> list[tuple[Path, os.stat_result]]:
        """Every recording with its stat, oldest first."""
        found = []
        try:
            entries = list(self.dir.iterdir())
        except FileNotFoundError:
            return []
        for path in entries:
            if path.suffix not in SUFFIXES:
                continue
            try:
                st = path.stat()
            except OSError:  # gone between the listing and the stat
                continue
            if stat.S_ISREG(st.st_mode):
                found.append((path, st))
        found.sort(key=lambda item: (item[1].st_mtime, item[0].name))
        return found

    def prune(self, keep: Collection[Path] = ()) -> list[Path]:
        """Delete what is past keep_days or over the budget, oldest first; returns them."""
        with self._lock:
            return self._prune({Path(k) for k in keep})

    def _prune(self, keep: set[Path]) -> list[Path]:
        cutoff = self.now() - self.keep_days * 86400
        found = self.recordings()
        total = sum(st.st_size for _, st in found)
        removed: list[Path] = []
        for path, st in found:  # oldest first
            too_old = st.st_mtime < cutoff
            if path in keep or not (too_old or total > self.max_bytes):
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:  # not worth failing an airing over
                log.warning("cannot prune air-check %s: %s", path, exc)
                continue
            total -= st.st_size
            removed.append(path)
            log.info(
                "air-check %s deleted (%s)", path.name, "past keep_days" if too_old else "budget"
            )
        self._seen = (len(found) - len(removed), total)
        return removed

    def report(self) -> StorageReport:
        """Free space now (one statvfs); the folder's size as of the last prune or look."""
        seen = self._seen
        if seen is None:
            found = self.recordings()
            seen = self._seen = (len(found), sum(st.st_size for _, st in found))
        free = total = None
        error = None
        try:
            usage = self.disk_usage(_existing(self.dir))
            free, total = usage.free, usage.total
        except OSError as exc:
            error = str(exc)
        return StorageReport(
            self.dir, free, total, seen[0], seen[1], self.keep_days, self.max_bytes,
            self.min_free_bytes, error,
        )  # fmt: skip


def _existing(path: Path) -> Path:
    """The folder itself or, before the first airing made it, its nearest existing parent."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path
