"""The looping clip stream a Program airs from (its vocabulary lives in player_types)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from controller.playout.decode import ClipDecoder, ClipStream, DecodeError
from controller.playout.player_types import (
    AudioEnded,
    AudioStarted,
    ClipFailed,
    ClipFinished,
    ClipStarted,
    EndReason,
    PlayerEvent,
    PlayerSnapshot,
    PlayerState,
    PlayResult,
    Program,
)
from drivers.audio.base import PcmFormat

__all__ = [
    "AudioEnded",
    "AudioStarted",
    "ClipFailed",
    "ClipFinished",
    "ClipStarted",
    "EndReason",
    "PlayResult",
    "PlayerEvent",
    "PlayerSnapshot",
    "PlayerState",
    "Program",
    "ProgramSource",
]


class ProgramSource:
    """The program's clips as one endless frame stream: clip, gap, next clip, wrapping.

    A clip that fails is reported once and skipped for the rest of the airing; when none is
    left the stream is silence, so the airing still lasts exactly as planned. The next clip's
    ffmpeg is started one block after a clip starts, so its start-up never stalls the stream.
    """

    def __init__(
        self,
        program: Program,
        decoder: ClipDecoder,
        fmt: PcmFormat,
        emit: Callable[[PlayerEvent], None],
    ) -> None:
        self._p = program
        self._decoder = decoder
        self._fb = fmt.frame_bytes
        self._rate = fmt.sample_rate
        self._emit = emit
        self._gap_frames = round(program.gap_s * fmt.sample_rate)
        self.clips_played: list[ClipFinished] = []
        self.failures: list[ClipFailed] = []
        self._failed: set[int] = set()
        self._produced = 0
        self._idx: int | None = None  # current clip, None in a gap or in silence
        self._last = program.first_clip
        self._stream: ClipStream | None = None
        self._chunk = b""
        self._pos = 0
        self._clip_frames = 0
        self._announced = False
        self._gap_left = 0
        self._silent = False
        self._ahead: tuple[int, ClipStream] | None = None
        self._ahead_due: int | None = None  # the clip whose successor to spawn at the next read

    @property
    def all_failed(self) -> bool:
        return self._silent

    def position(self) -> tuple[int | None, Path | None, float, bool]:
        """(clip index, path, seconds into it, in the gap after it); a gap shows its clip."""
        if self._silent:
            return None, None, 0.0, False
        index = self._last if self._idx is None else self._idx
        return index, self._p.clips[index], self._clip_frames / self._rate, self._idx is None

    def prime(self) -> None:
        """Open the first playable clip and read its first block (done before the start)."""
        self._open_from(self._p.first_clip)

    def read(self, frames: int) -> bytes:
        """Exactly `frames` frames of the program, continuing where the last read stopped."""
        if self._ahead_due is not None:
            # One read after its clip started: the first block never waits for a second ffmpeg.
            current, self._ahead_due = self._ahead_due, None
            self._spawn_ahead(current)
        need = frames * self._fb
        parts: list[bytes] = []
        while need > 0:
            if self._silent:
                take = bytes(need)
            elif self._gap_left > 0:
                take = bytes(min(need, self._gap_left * self._fb))
                self._gap_left -= len(take) // self._fb
            else:
                if not self._announced:
                    self._announce()
                take = self._chunk[self._pos : self._pos + need]
                self._pos += len(take)
                self._clip_frames += len(take) // self._fb
            parts.append(take)
            need -= len(take)
            self._produced += len(take) // self._fb
            if not self._silent and self._gap_left == 0 and self._pos >= len(self._chunk):
                self._advance()
        return b"".join(parts)

    def shift(self, frames: int) -> None:
        """`frames` of silence went out before what this source gives next (a late decoder)."""
        self._produced += frames

    def close(self, aired: bool = True) -> None:
        """Stop decoding; a clip cut off by the end of the airing is reported incomplete.

        With `aired=False` (ended before the first frame) the clip read ahead is not reported.
        """
        if aired and self._stream is not None and self._announced and self._idx is not None:
            self._finish(self._idx, complete=False)
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._ahead is not None:
            self._ahead[1].close()
            self._ahead = None

    def _advance(self) -> None:
        # The current block is used up: fetch the next now, so a clip's end is seen at once.
        if self._stream is not None and self._idx is not None:
            try:
                self._chunk, self._pos = next(self._stream), 0
                return
            except StopIteration:
                self._stream = None
                self._finish(self._idx, complete=True)
            except DecodeError as exc:
                self._stream = None
                self._finish(self._idx, complete=False)
                self._fail(self._idx, exc.reason)
            self._idx = None
            self._gap_left = self._gap_frames
        if self._gap_left == 0:
            self._open_from(self._next_index(self._last))

    def _open_from(self, index: int | None) -> None:
        """Make the first playable clip from `index` on current, with its first block in hand."""
        while index is not None:
            if self._p.allow is not None and not self._p.allow(self._p.clips[index]):
                self._fail(index, "已过期或已撤下 / expired or retired")
                index = self._next_index(index)
                continue
            stream = self._take_ahead(index)
            try:
                stream = stream or self._decoder.open(self._p.clips[index])
                chunk = next(stream)
            except (DecodeError, StopIteration) as exc:
                if stream is not None:
                    stream.close()
                self._fail(index, exc.reason if isinstance(exc, DecodeError) else "no audio")
                index = self._next_index(index)
                continue
            self._idx = self._last = index
            self._stream, self._chunk, self._pos = stream, chunk, 0
            self._clip_frames, self._announced = 0, False
            return
        self._silent = True

    def _announce(self) -> None:
        assert self._idx is not None
        self._announced = True
        self._emit(ClipStarted(self._idx, self._p.clips[self._idx], self._produced))
        if self._ahead is None:
            self._ahead_due = self._idx

    def _spawn_ahead(self, current: int) -> None:
        nxt = self._next_index(current)
        if nxt is not None:
            try:
                self._ahead = (nxt, self._decoder.open(self._p.clips[nxt]))
            except DecodeError:
                self._ahead = None  # it will fail again, properly reported, when its turn comes

    def _take_ahead(self, index: int) -> ClipStream | None:
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        if ahead[0] == index:
            return ahead[1]
        ahead[1].close()
        return None

    def _next_index(self, after: int) -> int | None:
        n = len(self._p.clips)
        for step in range(1, n + 1):
            if (after + step) % n not in self._failed:
                return (after + step) % n
        return None

    def _finish(self, index: int, complete: bool) -> None:
        event = ClipFinished(index, self._p.clips[index], self._clip_frames, complete)
        self.clips_played.append(event)
        self._emit(event)

    def _fail(self, index: int, reason: str) -> None:
        self._failed.add(index)
        event = ClipFailed(index, self._p.clips[index], reason)
        self.failures.append(event)
        self._emit(event)
