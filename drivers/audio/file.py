"""An audio output that keeps an air-check WAV of every airing, as proof of what aired."""

from __future__ import annotations

import logging
import re
import time
import wave
from pathlib import Path
from typing import BinaryIO

from drivers.audio.base import PcmFormat

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w.\-]+")  # \w keeps CJK, so 早间 names stay readable
_MAX_LABEL = 120


def sanitise_label(label: str) -> str:
    """A file-name stem from an airing label: no separators, no leading dots, bounded."""
    stem = _UNSAFE.sub("_", label).strip("._")[:_MAX_LABEL]
    return stem or "airing"


class FileOutput:
    """Writes `<dir>/<label>.wav`: exactly the frames given, header final on close."""

    paced = False

    def __init__(self, dir: Path, keep_days: int = 31) -> None:
        self.dir = Path(dir)
        self.keep_days = keep_days
        self._wav: wave.Wave_write | None = None
        self._raw: BinaryIO | None = None
        self._path: Path | None = None

    def open(self, fmt: PcmFormat, label: str) -> None:
        if self._wav is not None:
            raise RuntimeError("FileOutput is already open")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prune()
        path = self._free_path(sanitise_label(label))
        raw = path.open("wb")  # stays open for the whole airing
        wav = wave.open(raw, "wb")  # noqa: SIM115 (closed in close())
        wav.setnchannels(fmt.channels)
        wav.setsampwidth(fmt.sample_width)
        wav.setframerate(fmt.sample_rate)
        # The header now, not with the first frame: a kill before audio leaves a valid WAV of
        # 0 frames, never a 0-byte file that no player opens (issue 9).
        wav.writeframes(b"")
        raw.flush()
        self._wav, self._path, self._raw = wav, path, raw

    def write(self, pcm: bytes) -> None:
        if self._wav is None:
            raise RuntimeError("FileOutput.write before open")
        # writeframes (not writeframesraw) patches the header as it goes, so a recording cut
        # short by a crash still says how long it is.
        self._wav.writeframes(pcm)

    def close(self) -> Path | None:
        wav, path, raw = self._wav, self._path, self._raw
        self._wav = self._path = self._raw = None
        if wav is not None:
            wav.close()
        if raw is not None:
            raw.close()  # wave closes only the files it opened itself
        return path

    def prune(self) -> list[Path]:
        """Delete recordings older than keep_days (by modification time)."""
        cutoff = time.time() - self.keep_days * 86400
        removed: list[Path] = []
        for old in self.dir.glob("*.wav"):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
                    removed.append(old)
            except OSError as exc:  # a file vanishing under us is not worth failing an airing
                log.warning("cannot prune air-check %s: %s", old, exc)
        return removed

    def _free_path(self, stem: str) -> Path:
        # Never overwrite an earlier recording: it may be the only proof an airing happened.
        path = self.dir / f"{stem}.wav"
        n = 1
        while path.exists():
            path = self.dir / f"{stem}-{n}.wav"
            n += 1
        return path
