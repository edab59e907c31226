"""An audio output that discards everything (dry runs, benchmarks, stations without a card)."""

from __future__ import annotations

from pathlib import Path

from drivers.audio.base import PcmFormat


class NullOutput:
    """Counts what it is given and drops it; the player paces it like a real card."""

    paced = False

    def __init__(self) -> None:
        self.frames_written = 0
        self.label: str | None = None
        self._frame_bytes = 4

    def open(self, fmt: PcmFormat, label: str) -> None:
        self.frames_written = 0
        self.label = label
        self._frame_bytes = fmt.frame_bytes

    def write(self, pcm: bytes) -> None:
        self.frames_written += len(pcm) // self._frame_bytes

    def close(self) -> Path | None:
        return None
