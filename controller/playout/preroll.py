"""Readies an airing's first block on a helper thread, so a slow decoder never holds the start."""

from __future__ import annotations

import threading
from collections.abc import Callable

from controller.core.clock import Clock, waiting
from controller.playout.clipstream import ProgramSource


class FirstBlock:
    """Primes the source (ffmpeg start-up, the `allow` check) and reads the first block.

    The source belongs to this helper until `done`; after that only the player thread uses it
    (the Event is the hand-over). An exception from the source is re-raised by `take`.
    """

    def __init__(
        self, src: ProgramSource, frames: int, clock: Clock, on_done: Callable[[], None]
    ) -> None:
        self._src, self._frames, self._clock, self._on_done = src, frames, clock, on_done
        self.primed_at: float | None = None
        self.ready_at: float | None = None
        self._block = b""
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._hold = waiting(clock).alarm()  # a virtual clock waits for the decoding
        # Started from the audio thread, whose real-time policy resets on fork and clone: the
        # decoding work here runs at normal priority.
        self._thread = threading.Thread(target=self._run, name="player-prep", daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def take(self) -> bytes:
        """The first block (once `done`); raises what the source raised."""
        if self._error is not None:
            raise self._error
        return self._block

    def join(self, timeout: float) -> bool:
        """Wait for the helper to let go of the source; False if it is still stuck."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._src.prime()
            self.primed_at = self._clock.monotonic()
            if self._frames > 0:
                self._block = self._src.read(self._frames)
            self.ready_at = self._clock.monotonic()
        except BaseException as exc:  # handed to the player thread, which ends the airing
            self._error = exc
        finally:
            self._done.set()
            self._on_done()
            self._hold.close()
