"""The engine interface answered in the engine's own process (and in tests, in the API's).

Whatever changes the air (a kick, a stop, a screen text) runs on the engine's event loop:
called from another thread it is handed to the loop and waited for, never run beside it.
Reads that touch the database (the status) run in the calling thread, off the loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from controller.engine.metrics import EngineMetrics
from controller.engine.parts import EngineParts
from controller.engine.port import AiringStates, EngineUnavailable, ScreenText, ShownMessage
from controller.engine.status import station_status

T = TypeVar("T")
LOOP_WAIT_S = 5.0  # a loop that cannot take a command in this long is reported, not waited on


class LocalEngine:
    def __init__(self, parts: EngineParts, metrics: EngineMetrics) -> None:
        self.parts = parts
        self._metrics = metrics
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the station runs on (set before the station starts)."""
        self._loop = loop

    def _on_loop(self, work: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None:
            raise EngineUnavailable("not started")
        if _running_loop() is loop:
            return work()
        if loop.is_closed():
            raise EngineUnavailable("stopped")

        async def call() -> T:
            return work()

        future = asyncio.run_coroutine_threadsafe(call(), loop)
        try:
            return future.result(LOOP_WAIT_S)
        except FutureTimeout:
            future.cancel()
            raise EngineUnavailable(f"busy for {LOOP_WAIT_S:.0f} s") from None

    # -- the Engine interface ------------------------------------------------------------------

    def ready(self) -> bool:
        return self.parts.station.started

    def status(self) -> dict[str, Any]:
        return station_status(self.parts)

    def airing_states(self) -> AiringStates:
        station = self.parts.station
        runners = list(station.runners.values())
        on_air = frozenset(r.base_id for r in runners if r.state.phase != "done")
        return AiringStates(on_air, frozenset(list(station.displaced)))

    def kick(self) -> None:
        self.parts.station.kick()  # thread-safe by itself, and never waits

    def lead_s(self, zones: list[str]) -> float:
        return self._on_loop(lambda: self.parts.station.lead_s(zones))

    def stop_air(self, reason: str) -> list[str]:
        return self._on_loop(lambda: self.parts.station.stop_air(reason))

    def stop_airing(self, airing_id: str, reason: str) -> bool:
        return self._on_loop(lambda: self.parts.station.stop_airing(airing_id, reason))

    def push_message(self, message: ScreenText) -> ShownMessage:
        def push() -> ShownMessage:
            m = self.parts.rotator.push_message(**dataclasses.asdict(message))
            return ShownMessage(m.id, m.text, tuple(m.displays), m.until, m.by)

        return self._on_loop(push)

    def withdraw(self, key: str) -> int:
        return self._on_loop(lambda: self.parts.rotator.withdraw(key))

    def metrics_text(self) -> bytes:
        return self._metrics.exposition(self.parts)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
