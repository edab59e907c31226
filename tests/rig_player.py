"""The player's test rig: three short clips in three formats, an airing played to a spying
air-check file, and the measurements the player tests make on what went out."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from airchecks import decode
from clocks import VirtualClock
from media_files import sine

from controller.core.clock import SystemClock, WaitingClock
from controller.playout.decode import ClipDecoder
from controller.playout.player import (
    Player,
    PlayerEvent,
    PlayResult,
    Program,
)
from drivers.audio.base import AudioOutput, PcmFormat
from drivers.audio.file import FileOutput

FMT = PcmFormat(48000, 2)
RATE = FMT.sample_rate
FREQS = {"c0.wav": 440, "c1.mp3": 660, "c2.ogg": 880}
CLIP_S = 0.6


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    for name, freq in FREQS.items():
        sine(folder / name, freq, CLIP_S, RATE)
    (folder / "broken.mp3").write_bytes(os.urandom(30_000))
    return folder


class SpyFile(FileOutput):
    """A FileOutput that notes when each block was handed over."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.writes: list[tuple[float, int]] = []  # (monotonic, frames before this block)
        self._frames = 0

    def write(self, pcm: bytes) -> None:
        self.writes.append((time.monotonic(), self._frames))
        self._frames += len(pcm) // FMT.frame_bytes
        super().write(pcm)


@dataclass
class Aired:
    result: PlayResult
    events: list[PlayerEvent]
    pcm: np.ndarray  # (frames, channels) int16 as recorded
    output: AudioOutput
    program: Program


def air(
    program: Program,
    output: AudioOutput,
    control: Callable[[Player], None] | None = None,
    clock: WaitingClock | None = None,
) -> Aired:
    events: list[PlayerEvent] = []
    player = Player(output, FMT, ClipDecoder(FMT), clock or SystemClock(), events.append)
    player.start(program)
    if control is not None:
        control(player)
    result = player.wait(timeout=15)
    assert result is not None, "the player did not finish"
    pcm = np.zeros((0, 2), dtype=np.int16)
    if result.recording is not None:
        pcm = decode(result.recording)
    return Aired(result, events, pcm, output, program)


def program(clips: list[Path], total_s: float, **kw: object) -> Program:
    kw.setdefault("gap_s", 0.2)
    kw.setdefault("fade_out_frames", int(0.1 * RATE))
    kw.setdefault("start_mono", time.monotonic() + 0.3)
    return Program(tuple(clips), total_frames=round(total_s * RATE), **kw)  # type: ignore[arg-type]


def virtual(program_of: Callable[[float], Program]) -> tuple[VirtualClock, Program]:
    """A virtual clock and the program to air on it (`program_of(now)`, monotonic)."""
    clock = VirtualClock()
    return clock, program_of(clock.monotonic())


def sound_runs(pcm: np.ndarray, min_gap_s: float = 0.05) -> list[tuple[int, int]]:
    """(start, end) frames of the sounding stretches, split at silences ≥ min_gap_s."""
    quiet = np.concatenate([[True], np.abs(pcm).max(axis=1) <= 2, [True]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] < min_gap_s * RATE:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((int(start), int(end)))
    return merged


def pitch(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm[:, 0].astype(np.float64)))
    return float(np.argmax(spectrum) * RATE / len(pcm))


def ffmpeg_children() -> list[int]:
    me = os.getpid()
    kids = []
    for task in Path(f"/proc/{me}/task").iterdir():
        for pid in (task / "children").read_text().split():
            if Path(f"/proc/{pid}/comm").read_text().strip().startswith("ffmpeg"):
                kids.append(int(pid))
    return kids


@pytest.fixture(scope="module")
def looped(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Aired:
    """2.5 s of [c0.wav, c1.mp3] with 0.2 s gaps: c0 g c1 g c0 g c1(0.1 s, faded)."""
    out = SpyFile(tmp_path_factory.mktemp("aircheck"))
    # 1 s ahead (the rig's 0.3 s was short of ffmpeg's start-up on a loaded machine, and a
    # padded start shifts every clip the tests below place to the frame)
    prog = program([media / "c0.wav", media / "c1.mp3"], 2.5, label="早间 looped",
                   start_mono=time.monotonic() + 1.0)  # fmt: skip
    return air(prog, out)
