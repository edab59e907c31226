"""The audio output contract: a paced sink of interleaved signed 16-bit PCM frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class PcmFormat:
    sample_rate: int = 48000
    channels: int = 2
    sample_width: int = 2  # bytes; s16le

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.sample_width


class AudioOutput(Protocol):
    """One airing's audio path. `open` → `write`* → `close`; used from one (player) thread.

    Pacing belongs to the player: `write` must not block longer than the time the frames take
    to play. Outputs that pace themselves (a sound card) report `paced = True`.
    """

    paced: bool

    def open(self, fmt: PcmFormat, label: str) -> None:
        """Start an airing; `label` names the air-check recording (no path separators)."""

    def write(self, pcm: bytes) -> None: ...

    def close(self) -> Path | None:
        """Finish the airing; returns the air-check recording's path if this output keeps one."""
