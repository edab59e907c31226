"""The airing's gain envelope: 1, then linear ramps that end exactly on 0 (fades, cuts, stops)."""

from __future__ import annotations

import numpy as np


class Envelope:
    """The airing's gain: 1, then linear ramps to 0; the lowest ramp wins, so gain never jumps."""

    def __init__(self, channels: int) -> None:
        self._channels = channels
        self._ramps: list[tuple[int, float, int]] = []  # (first frame, gain there, end frame)

    def add(self, start: int, gain: float, end: int) -> None:
        """Ramp from `gain` at `start` to exactly 0 on frame `end - 1`."""
        self._ramps.append((start, gain, end))

    def gain_at(self, frame: int) -> float:
        return float(self._gains(frame, 1)[0])

    def apply(self, pcm: bytes, first_frame: int) -> bytes:
        n = len(pcm) // (2 * self._channels)
        if all(start >= first_frame + n for start, _, _ in self._ramps):
            return pcm  # the common case: untouched bytes, no numpy round trip
        samples = np.frombuffer(pcm, dtype=np.int16).reshape(n, self._channels)
        faded = np.rint(samples * self._gains(first_frame, n)[:, None])
        return faded.astype(np.int16).tobytes()  # gains ≤ 1, so nothing can clip

    def _gains(self, first_frame: int, n: int) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
        frames = np.arange(first_frame, first_frame + n, dtype=np.float64)
        gains = np.ones(n)
        for start, gain, end in self._ramps:
            span = end - 1 - start
            ramp = gain * (end - 1 - frames) / span if span > 0 else np.zeros(n)
            gains = np.minimum(gains, np.where(frames < start, 1.0, np.clip(ramp, 0.0, 1.0)))
        return gains
