"""The sound-card output: one miniaudio playback device per airing, fed from a bounded buffer."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import miniaudio

from drivers.audio.base import PcmFormat

_BACKENDS = {"alsa": miniaudio.Backend.ALSA, "null": miniaudio.Backend.NULL}


class OutputError(RuntimeError):
    """The sound card could not be opened or stopped taking audio."""


class AlsaOutput:
    """Plays through the card; `write` blocks once `buffer_ms` is queued, so it keeps real time.

    The device runs from `open` (silence while the buffer is empty), so the first frame the
    player writes goes out within one period instead of after a device start-up.
    """

    paced = True

    def __init__(
        self,
        device: str = "default",
        backend: str = "alsa",
        buffer_ms: int = 100,
        period_ms: int = 10,
        stall_s: float = 2.0,
    ) -> None:
        if backend not in _BACKENDS:
            raise ValueError(f"unknown audio backend {backend!r} (expected alsa or null)")
        self.device = device
        self.backend = backend
        self.buffer_ms = buffer_ms
        self.period_ms = period_ms
        self.stall_s = stall_s  # the card took nothing for this long: it is gone
        self.frames_played = 0  # real frames handed to the device (not padding)
        self.underruns = 0  # callbacks that had to pad with silence mid-airing
        self._cond = threading.Condition()
        self._buf = bytearray()
        self._cap = 0
        self._frame_bytes = 4
        self._started = False  # the player has written something: padding now is an underrun
        self._closing = False  # the airing is over: padding now is the normal tail
        self._dev: Any = None

    def open(self, fmt: PcmFormat, label: str) -> None:
        if self._dev is not None:
            raise RuntimeError("AlsaOutput is already open")
        if fmt.sample_width != 2:
            raise ValueError("AlsaOutput plays s16le only")
        self._frame_bytes = fmt.frame_bytes
        self._cap = fmt.sample_rate * self.buffer_ms // 1000 * fmt.frame_bytes
        self._buf.clear()
        self.frames_played = self.underruns = 0
        self._started = self._closing = False
        backend = _BACKENDS[self.backend]
        try:
            dev = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.SIGNED16,
                nchannels=fmt.channels,
                sample_rate=fmt.sample_rate,
                buffersize_msec=self.period_ms,
                device_id=self._device_id(backend),
                backends=[backend],
                app_name="broadcastctl",
            )
            feed = self._feed()
            next(feed)
            dev.start(feed)
        except miniaudio.MiniaudioError as exc:
            raise OutputError(
                f"声卡无法打开：{self.device} ({self.backend}) — cannot open sound device: {exc}"
            ) from exc
        self._dev = dev

    def write(self, pcm: bytes) -> None:
        if self._dev is None:
            raise RuntimeError("AlsaOutput.write before open")
        deadline = time.monotonic() + self.stall_s
        with self._cond:
            # A chunk larger than the whole buffer is still accepted once the buffer is empty.
            while self._buf and len(self._buf) + len(pcm) > self._cap:
                if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise OutputError(f"声卡停止播放：{self.device} — sound device stalled")
            self._buf += pcm
            self._started = True

    def close(self) -> Path | None:
        dev, self._dev = self._dev, None
        if dev is None:
            return None
        try:
            # Let what is queued play out, so a fade reaches the speakers in full…
            with self._cond:
                self._closing = True
                drain_s = self.buffer_ms / 1000 + self.stall_s
                self._cond.wait_for(lambda: not self._buf, timeout=drain_s)
            # …and then the device's own periods (miniaudio keeps about three).
            time.sleep(3 * self.period_ms / 1000)
        finally:
            dev.close()
        return None

    def _feed(self) -> Generator[bytes, int, None]:
        """miniaudio's callback: never blocks (it runs on the audio thread); pads with silence."""
        frames = yield b""
        while True:
            need = frames * self._frame_bytes
            with self._cond:
                take = bytes(self._buf[:need])
                del self._buf[:need]
                self._cond.notify_all()
                if len(take) < need and self._started and not self._closing:
                    self.underruns += 1
            self.frames_played += len(take) // self._frame_bytes
            frames = yield take + bytes(need - len(take))

    def _device_id(self, backend: miniaudio.Backend) -> Any:
        if self.device in ("", "default"):
            return None
        wanted = self.device.lower()
        for info in miniaudio.Devices([backend]).get_playbacks():
            if wanted in str(info["name"]).lower():
                return info["id"]
        raise OutputError(f"找不到声卡：{self.device} — no {self.backend} playback device named so")
