"""Clip decoding: one ffmpeg subprocess per clip, streamed as fixed-size s16le PCM blocks."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from drivers.audio.base import PcmFormat

# ~20 ms at any rate we use; the player re-blocks anyway, so this only sets syscall count.
DEFAULT_BLOCK_FRAMES = 960
_STDERR_TAIL = 600


class DecodeError(Exception):
    """A clip could not be decoded; `reason` is ffmpeg's own explanation."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot decode {path}: {reason}")
        self.path = path
        self.reason = reason


class FfmpegNotFound(RuntimeError):
    pass


def find_ffmpeg() -> str:
    """The ffmpeg to run: Debian's on PATH first (it links system codecs), else the wheel's."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # the wheel raises RuntimeError when its binary is missing
        raise FfmpegNotFound(
            "找不到 ffmpeg，无法解码音频。请安装 Debian 的 ffmpeg：sudo apt-get install ffmpeg "
            f"(ffmpeg not found on PATH and imageio-ffmpeg failed: {exc})"
        ) from exc
    return str(exe)


class ClipStream(Iterator[bytes]):
    """PCM blocks of one clip from a running ffmpeg; `close()` kills and reaps it."""

    def __init__(self, ffmpeg: str, path: Path, fmt: PcmFormat, block_frames: int) -> None:
        self.path = path
        self._block_bytes = block_frames * fmt.frame_bytes
        self._frame_bytes = fmt.frame_bytes
        self.frames = 0
        self.first_block_s: float | None = None  # spawn → first block, for the bench and logs
        # stderr goes to a file, not a pipe: a damaged mp3 can log an error per frame, and a
        # full stderr pipe would stall ffmpeg while we wait on stdout.
        self._stderr: IO[bytes] = tempfile.TemporaryFile(prefix="ffmpeg-")  # noqa: SIM115 (lives with the stream)
        argv = [
            ffmpeg,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            # file: keeps a name like "http:x" or "concat:a|b" a plain file; 0:a:0 skips cover art
            "-i",
            f"file:{path}",
            "-map",
            "0:a:0",
            "-f",
            "s16le",
            "-ac",
            str(fmt.channels),
            "-ar",
            str(fmt.sample_rate),
            "-",
        ]
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawned = time.monotonic()
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                # own session: a Ctrl-C meant for the daemon must not silently kill the clip
                start_new_session=True,
            )
        except OSError as exc:
            self._stderr.close()
            raise DecodeError(path, f"cannot run {ffmpeg}: {exc}") from exc
        self._done = False

    @property
    def pid(self) -> int | None:
        """The ffmpeg process id while it runs (None once reaped)."""
        return None if self._proc is None else self._proc.pid

    def __iter__(self) -> ClipStream:
        return self

    def __next__(self) -> bytes:
        if self._done or self._proc is None:
            raise StopIteration
        assert self._proc.stdout is not None
        block = self._proc.stdout.read(self._block_bytes)
        # Trim a torn frame; ffmpeg only writes whole samples, so this is belt and braces.
        block = block[: len(block) - len(block) % self._frame_bytes]
        if block:
            if self.first_block_s is None:
                self.first_block_s = time.monotonic() - self._spawned
            self.frames += len(block) // self._frame_bytes
            return block
        self._done = True
        rc = self._reap(kill=False)
        reason = self._reason(rc) if rc != 0 else None
        self._stderr.close()
        if reason is not None:
            raise DecodeError(self.path, reason)
        if self.frames == 0:
            raise DecodeError(self.path, "no audio in file")
        raise StopIteration

    def close(self) -> None:
        self._done = True
        self._reap(kill=True)
        self._stderr.close()

    def __enter__(self) -> ClipStream:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if hasattr(self, "_stderr"):
            self.close()

    def _reap(self, kill: bool) -> int:
        proc, self._proc = self._proc, None
        if proc is None:
            return 0
        if kill and proc.poll() is None:
            proc.kill()
        try:
            rc = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # stuck on a dead NFS mount and the like
            proc.kill()
            rc = proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        return rc

    def _reason(self, rc: int) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        lines = [line for line in text.splitlines() if line.strip()]
        tail = " | ".join(lines[-3:])[-_STDERR_TAIL:]
        return tail or f"ffmpeg exited with status {rc}"


class ClipDecoder:
    """Opens clips as streams of PCM in the player's format."""

    def __init__(
        self,
        fmt: PcmFormat,
        block_frames: int = DEFAULT_BLOCK_FRAMES,
        ffmpeg: str | None = None,
    ) -> None:
        self.fmt = fmt
        self.block_frames = block_frames
        self.ffmpeg = ffmpeg or find_ffmpeg()

    def open(self, path: Path) -> ClipStream:
        """Spawn ffmpeg for `path`; decode errors surface as DecodeError while iterating."""
        return ClipStream(self.ffmpeg, Path(path), self.fmt, self.block_frames)
