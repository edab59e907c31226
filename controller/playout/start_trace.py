"""Why an airing's first frame went out when it did: the start's phase times and a verdict."""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# A start later than this is logged with its cause and reported to the runner (§2 rule 1).
LATE_MS = 20.0
# The thread woke up this much after its due time: the OS or another thread had the CPU.
_WAKE_SLACK_S = 0.005


class GcMeter:
    """Total time the garbage collector ran (any thread) while at least one meter is on."""

    _lock = threading.Lock()
    _users = 0
    _began = 0.0
    total_s = 0.0
    longest_s = 0.0

    @classmethod
    def acquire(cls) -> None:
        with cls._lock:
            cls._users += 1
            if cls._users == 1:
                gc.callbacks.append(cls._callback)

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users == 0 and cls._callback in gc.callbacks:
                gc.callbacks.remove(cls._callback)

    @classmethod
    def _callback(cls, phase: str, _info: dict[str, Any]) -> None:
        # Runs with the GIL held inside the collection, on whichever thread triggered it.
        now = time.perf_counter()
        if phase == "start":
            cls._began = now
        elif cls._began:
            pause = now - cls._began
            cls.total_s += pause
            cls.longest_s = max(cls.longest_s, pause)
            cls._began = 0.0


@dataclass
class StartTrace:
    """Monotonic times of one start's phases; `verdict` says how late and why.

    Phases: started (Player.start called), opened (the output), primed (the first clip's
    decoder gave its first block), ready (the first block read), woke (the thread woke for
    T), written (the first programme block went out). The phase that ran furthest past T
    is the cause.
    """

    planned: float  # the programme's start_mono
    marks: dict[str, float] = field(default_factory=dict)
    gc_s: float = 0.0  # GC time from the player's start to the first frame
    gc_longest_s: float = 0.0
    padded_s: float = 0.0  # silence aired first because the decoder was not ready
    _gc0: tuple[float, float] = (0.0, 0.0)
    _gc_on: bool = False

    def mark(self, phase: str, at: float) -> None:
        self.marks.setdefault(phase, at)

    def gc_begin(self) -> None:
        GcMeter.acquire()
        self._gc_on = True
        self._gc0 = (GcMeter.total_s, GcMeter.longest_s)
        GcMeter.longest_s = 0.0

    def gc_end(self) -> None:
        """Stop metering (once; later calls keep the first reading)."""
        if not self._gc_on:
            return
        self._gc_on = False
        self.gc_s = GcMeter.total_s - self._gc0[0]
        self.gc_longest_s = GcMeter.longest_s
        GcMeter.longest_s = max(GcMeter.longest_s, self._gc0[1])
        GcMeter.release()

    def late_s(self) -> float:
        """How late the first programme frame went out (after any silence padded before it)."""
        written = self.marks.get("written")
        return 0.0 if written is None else max(0.0, written - self.planned)

    def verdict(self) -> tuple[float, str | None]:
        """(late in ms, cause) — the cause is None for a start within LATE_MS."""
        late_ms = self.late_s() * 1000
        if late_ms <= LATE_MS:
            return late_ms, None
        return late_ms, self._cause()

    def _cause(self) -> str:
        blame = self._blame()
        phase, share = max(blame.items(), key=lambda kv: kv[1])
        detail = ", ".join(f"{p} {s * 1000:+.0f} ms" for p, s in blame.items() if s > 0.0005)
        if phase == "started":
            why = "the player was started too late (the caller)"
        elif phase == "opened":
            why = "the audio output was slow to open"
        elif phase == "primed":
            why = "the first clip's decoder was not ready (ffmpeg start-up)"
        elif phase == "woke":
            why = "the player thread woke up late (CPU or GIL held by others)"
        elif phase == "ready":
            why = "reading the first block was slow (decoder pipe)"
        else:
            why = "the player was slow between its wake-up and the first write"
        if self.padded_s:
            why += f"; {self.padded_s * 1000:.0f} ms of silence aired on time before it"
        if self.gc_s > 0.005:
            why += f"; garbage collection ran {self.gc_s * 1000:.0f} ms in the window"
        return f"{why} [{detail}] ({share * 1000:.0f} ms of it)"

    def _blame(self) -> dict[str, float]:
        """How much of the lateness each phase caused: the part of it that ran past T."""
        blame: dict[str, float] = {}
        edge = self.planned  # time already lost when the phase began, measured from T
        # In time order: a decoder that was not ready finishes its phases after the wake-up.
        for phase, at in sorted(self.marks.items(), key=lambda kv: kv[1]):
            slack = _WAKE_SLACK_S if phase == "woke" else 0.0
            blame[phase] = max(0.0, at - max(edge, self.planned) - slack)
            edge = max(edge, at)
        return blame
