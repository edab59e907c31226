"""An audio output that keeps an air-check FLAC of every airing, as proof of what aired."""

from __future__ import annotations

import os
import re
from pathlib import Path

from drivers.audio.base import PcmFormat
from drivers.audio.flac import FlacWriter
from drivers.audio.retention import SUFFIXES, AircheckStore

_UNSAFE = re.compile(r"[^\w.\-]+")  # \w keeps CJK, so 早间 names stay readable
_MAX_LABEL = 120
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC  # fails if the name is taken


def sanitise_label(label: str) -> str:
    """A file-name stem from an airing label: no separators, no leading dots, bounded."""
    stem = _UNSAFE.sub("_", label).strip("._")[:_MAX_LABEL]
    return stem or "airing"


class FileOutput:
    """Writes `<dir>/<label>.flac`: exactly the frames given, losslessly; length final on close.

    `write` hands the frames to an encoder thread and returns at once; the old recordings are
    pruned (age, then budget) on that thread, at the start, every minute of audio and at the end.
    """

    paced = False

    def __init__(self, store: AircheckStore | Path, keep_days: int = 31) -> None:
        """`store` says where recordings go and what is kept; a bare folder keeps `keep_days`
        within the default budget."""
        if not isinstance(store, AircheckStore):
            store = AircheckStore(Path(store), keep_days)
        self.store = store
        self.dir, self.keep_days = store.dir, store.keep_days
        self._writer: FlacWriter | None = None

    def open(self, fmt: PcmFormat, label: str) -> None:
        if self._writer is not None:
            raise RuntimeError("FileOutput is already open")
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, path = self._create(sanitise_label(label))
        try:
            # The header now, not with the first frame: a kill before audio leaves a valid
            # FLAC of 0 frames, never a 0-byte file that no player opens (issue 9).
            self._writer = FlacWriter(fd, path, fmt, lambda: self.store.prune(keep=(path,)))
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def write(self, pcm: bytes) -> None:
        if self._writer is None:
            raise RuntimeError("FileOutput.write before open")
        self._writer.put(pcm)

    def close(self) -> Path | None:
        writer, self._writer = self._writer, None
        if writer is None:
            return None
        writer.close()
        return writer.path

    def prune(self) -> list[Path]:
        """Delete recordings past keep_days or over the budget (never the one being written)."""
        keep = (self._writer.path,) if self._writer is not None else ()
        return self.store.prune(keep)

    def _create(self, stem: str) -> tuple[int, Path]:
        # Never overwrite an earlier recording: it may be the only proof an airing happened.
        # A stem taken by either kind (the WAVs of before) moves on to the next number, and
        # O_EXCL makes "it was free" and "it is ours" one step.
        n = 0
        while True:
            name = stem if n == 0 else f"{stem}-{n}"
            n += 1
            if any((self.dir / f"{name}{suffix}").exists() for suffix in SUFFIXES):
                continue
            path = self.dir / f"{name}.flac"
            try:
                return os.open(path, _CREATE, 0o644), path
            except FileExistsError:
                continue
