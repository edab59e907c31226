"""The air engine in-process, on the system clock, on an event loop of its own thread: for
wall-clock tests against real peers (Mosquitto, device doubles) that need no daemon process,
so a slot can start seconds after the engine instead of after a process start-up."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from controller.config import load_config
from controller.engine.parts import EngineParts, build_engine
from drivers.relays.base import SwitchResult
from peers.daemon import StationDir, two_villages


class EngineThread:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.parts: EngineParts | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._failed: BaseException | None = None

    def start(self, timeout: float = 20.0) -> None:
        """Build and start the engine; returns once it has started (its start-up sweep sent)."""
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"the engine did not start within {timeout} s")
        if self._failed is not None:
            raise self._failed

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the engine (airings switch off and close their rows) and its loop."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed to start() if it has not returned yet
            self._failed = exc
            self._started.set()

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        self.parts = build_engine(load_config(self.config))
        await self.parts.start()
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            await self.parts.stop()


class Switch(NamedTuple):
    """One relay command as an in-process engine gave it, at its clock's time."""

    at: datetime
    relay: str
    channel: int
    on: bool


def record_switches(parts: EngineParts) -> list[Switch]:
    """Every relay command `parts` gives from now on, stamped with the engine's clock (the
    fake board stamps its own with time.monotonic(), which the virtual clock does not move)."""
    switches: list[Switch] = []
    for relay_id, relay in parts.relays.items():
        switch = relay.switch

        async def recorded(
            channel: int, on: bool, *, deadman_s: float | None = None,
            _id: str = relay_id, _switch: Any = switch,
        ) -> SwitchResult:  # fmt: skip
            switches.append(Switch(parts.clock.now(), _id, channel, on))
            result: SwitchResult = await _switch(channel, on, deadman_s=deadman_s)
            return result

        relay.switch = recorded  # type: ignore[method-assign]
    return switches


def fake_villages(station: StationDir, slots: list[dict[str, Any]], **extra: Any) -> None:
    """`two_villages` on fake boards (air-checks in files, as StationDir writes them): the
    station of the daemon's end-to-end tests, for an in-process engine."""
    boards = [{"id": "rack", "type": "fake", "channels": 2}] + [
        {"id": name, "type": "fake", "channels": 1} for name in ("east", "west")
    ]
    station.write_config(two_villages(boards, slots, **extra))
