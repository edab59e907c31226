"""What the player is given and what it reports: the Program, its events, result and snapshot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

EndReason = Literal["complete", "cut", "stopped", "error"]
PlayerState = Literal["idle", "preparing", "waiting", "playing", "ended"]


@dataclass(frozen=True)
class Program:
    clips: tuple[Path, ...]  # played in order, looping, until the end
    gap_s: float  # silence between clips (also between the last and the first when looping)
    start_mono: float  # monotonic time at which the FIRST frame must go on air
    total_frames: int  # exact length of the airing in frames
    fade_out_frames: int  # linear fade that ENDS exactly on the last frame
    first_clip: int = 0  # index to start from (a join after restart starts at a clip boundary)
    label: str = "airing"  # air-check file name
    # Asked at each clip boundary (on the player thread) whether a clip may still air: an
    # expired or retired clip is skipped from then on, and the one on air finishes first.
    allow: Callable[[Path], bool] | None = None

    def __post_init__(self) -> None:
        if not self.clips:
            raise ValueError("a program needs at least one clip")
        if not 0 <= self.first_clip < len(self.clips):
            raise ValueError(f"first_clip {self.first_clip} is not in 0..{len(self.clips) - 1}")
        if self.total_frames < 0 or self.fade_out_frames < 0 or self.gap_s < 0:
            raise ValueError("total_frames, fade_out_frames and gap_s must not be negative")


@dataclass(frozen=True)
class AudioStarted:
    """Sent once the first programme frame is out (or the airing ended while padding)."""

    first_frame_mono: float  # the airing's first frame (silence, if the decoder was late)
    # The wall clock read on the player thread at that frame: the record's audio_start,
    # immune to a wall-clock step between the frame and the event's handling.
    first_frame_wall: datetime | None = None
    planned_mono: float | None = None  # the programme's start_mono
    late_ms: float = 0.0  # how late the first programme frame went out
    late_cause: str | None = None  # why, when late_ms > 20 (controller.playout.start_trace.LATE_MS)
    padded_frames: int = 0  # silence aired on time before it, the decoder not being ready


@dataclass(frozen=True)
class ClipStarted:
    index: int
    path: Path
    at_frame: int  # frame of the airing on which the clip's first frame lies


@dataclass(frozen=True)
class ClipFinished:
    index: int
    path: Path
    frames: int
    complete: bool  # False: the airing ended (or the decoder failed) inside the clip


@dataclass(frozen=True)
class ClipFailed:
    index: int
    path: Path
    reason: str


@dataclass(frozen=True)
class AudioEnded:
    frames_written: int
    reason: EndReason
    last_frame_mono: float | None  # None when nothing aired


@dataclass(frozen=True)
class DeadAir:
    """Dead air began (`ended` False: `at_frame` is where the silence started) or ended
    (`seconds` is how long it lasted)."""

    at_frame: int
    ended: bool
    seconds: float


@dataclass(frozen=True)
class Clipping:
    """The first clipped block of the airing (later ones only count in `clipped_s`)."""

    at_frame: int


PlayerEvent = (
    AudioStarted | ClipStarted | ClipFinished | ClipFailed | AudioEnded | DeadAir | Clipping
)


@dataclass(frozen=True)
class PlayResult:
    label: str
    first_frame_mono: float | None
    last_frame_mono: float | None  # when the last frame finished going out
    frames_written: int
    reason: EndReason
    clips: tuple[ClipFinished, ...]  # every clip that aired, whole or in part
    failures: tuple[ClipFailed, ...] = ()
    error: str | None = None
    recording: Path | None = None  # the air-check file, if the output keeps one
    sample_rate: int | None = None
    first_frame_wall: datetime | None = None  # as on AudioStarted
    late_ms: float = 0.0
    late_cause: str | None = None
    padded_frames: int = 0
    silence_s: float = 0.0  # dead air: silences inside clips longer than monitor.silence_s
    clipped_s: float = 0.0
    only_silence: bool = False  # frames went out, but not one block of them had sound

    @property
    def aired_s(self) -> float | None:
        """The airing's length by its frames: the only length the record may state."""
        return None if not self.sample_rate else self.frames_written / self.sample_rate

    @property
    def end_mono(self) -> float | None:
        """Where the last frame ends on the first frame's timeline: first + frames/rate."""
        if self.first_frame_mono is None or self.aired_s is None:
            return None
        return self.first_frame_mono + self.aired_s

    @property
    def audio_end_wall(self) -> datetime | None:
        """The record's audio_end: audio_start + frames/rate, whatever the wall clock did."""
        if self.first_frame_wall is None or self.aired_s is None:
            return None
        return self.first_frame_wall + timedelta(seconds=self.aired_s)


@dataclass(frozen=True)
class PlayerSnapshot:
    state: PlayerState
    label: str | None = None
    clip_index: int | None = None  # None when idle or in all-failed silence
    clip_path: Path | None = None
    position_s: float = 0.0  # within the current clip
    frames_written: int = 0
    in_gap: bool = False  # the clip has ended; this is the silence after it
