"""One FLAC air-check encoded on a thread of its own, so the player never waits for the disk.

libsndfile (the `soundfile` wheel) encodes in-process and writes each FLAC frame with a plain
write(2), unbuffered: what a kill -9 leaves on disk decodes up to the last whole frame (4096
audio frames, 85 ms at 48 kHz), with the length unknown in the header until `close` sets it.
The header is written at `open`, so a kill before the first frame leaves a valid empty file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import soundfile

from drivers.audio.base import PcmFormat

log = logging.getLogger(__name__)

# sndfile.h: write the header now, not with the first frame. soundfile wraps no sf_command
# but its own, so this goes through its handle to libsndfile (the empty-file test guards it).
_SFC_UPDATE_HEADER_NOW = 0x1060


class AircheckWriteError(RuntimeError):
    """The air-check could not be written (disk full, disk gone)."""


class FlacWriter:
    """Takes interleaved s16le PCM with `put` (a copy into a queue, at once) and encodes it.

    The queue holds at most `max_queued_s` of audio: a disk stalled longer makes `put` wait,
    since a frame the air-check cannot keep was not put out either (the file output is the
    air). An encoder that failed makes the next `put` or `close` raise. `housekeeping` runs on
    the encoder thread before the first frame, every `every_s` of audio and after the end.
    """

    def __init__(
        self,
        fd: int,
        path: Path,
        fmt: PcmFormat,
        housekeeping: Callable[[], object] = lambda: None,
        every_s: float = 60.0,
        max_queued_s: float = 10.0,
    ) -> None:
        if fmt.sample_width != 2:
            raise ValueError("FLAC air-checks are s16le only")
        self.path = path
        self._fmt = fmt
        try:
            self._sf = soundfile.SoundFile(
                fd, "w", fmt.sample_rate, fmt.channels, "PCM_16", format="FLAC", closefd=True
            )
        except Exception:
            os.close(fd)  # not taken over
            raise
        try:
            _write_header_now(self._sf)
        except Exception:
            self._sf.close()
            raise
        self._housekeeping = housekeeping
        self._every = max(1, round(every_s * fmt.sample_rate))
        self._cap = max(1, round(max_queued_s * fmt.sample_rate)) * fmt.frame_bytes
        self._cond = threading.Condition()
        self._queue: deque[bytes] = deque()
        self._queued = 0  # bytes put and not yet encoded
        self._closing = False
        self._error: BaseException | None = None
        self.frames = 0  # encoded so far (the encoder thread's count)
        self._thread = threading.Thread(target=self._run, name=f"aircheck {path.name}", daemon=True)
        self._thread.start()

    def put(self, pcm: bytes) -> None:
        with self._cond:
            while self._error is None and self._queued and self._queued + len(pcm) > self._cap:
                self._cond.wait()
            self._raise_if_failed()
            self._queue.append(bytes(pcm))
            self._queued += len(pcm)
            self._cond.notify_all()

    def close(self, timeout: float = 30.0) -> bool:
        """Encode what is queued, finish the header; False if the disk did not let it in time
        (the thread goes on and finishes by itself)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error(
                "air-check %s: not finished in %.0f s; it finishes by itself", self.path, timeout
            )
            return False
        with self._cond:
            self._raise_if_failed()
        return True

    def drained(self, timeout: float) -> bool:
        """True once everything put has been encoded (tests and benches wait on it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queued and self._error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return not self._queued

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise AircheckWriteError(
                f"录音写入失败 / air-check write failed: {self._error}"
            ) from self._error

    # ---- the encoder thread ----------------------------------------------------------------

    def _run(self) -> None:
        due = 0
        try:
            while True:
                if self.frames >= due:
                    self._keep_house()
                    due = self.frames + self._every
                with self._cond:
                    while not self._queue and not self._closing:
                        self._cond.wait()
                    chunks, closing = list(self._queue), self._closing
                    self._queue.clear()
                if chunks:
                    data = b"".join(chunks)
                    self._sf.buffer_write(data, dtype="int16")
                    self.frames += len(data) // self._fmt.frame_bytes
                    with self._cond:
                        self._queued -= len(data)
                        self._cond.notify_all()
                elif closing:
                    break
            self._sf.close()  # the header now says how long it is
        except BaseException as exc:  # whatever it is, the player thread hears of it
            with self._cond:
                self._error = exc
                self._cond.notify_all()
            log.error("air-check %s: writing failed: %s", self.path, exc)
            self._close_quietly()
        self._keep_house()

    def _keep_house(self) -> None:
        try:
            self._housekeeping()
        except Exception:  # pruning old recordings must never stop this one
            log.exception("air-check housekeeping failed")

    def _close_quietly(self) -> None:
        try:
            self._sf.close()
        except Exception as exc:
            log.warning("air-check %s: closing after a failure: %s", self.path, exc)


def _write_header_now(sf: soundfile.SoundFile) -> None:
    handle = sf._file
    if soundfile._snd.sf_command(handle, _SFC_UPDATE_HEADER_NOW, soundfile._ffi.NULL, 0) != 0:
        raise AircheckWriteError(
            f"录音文件头写入失败 / air-check header not written: {soundfile._snd.sf_error(handle)}"
        )
