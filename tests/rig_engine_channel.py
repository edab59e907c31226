"""The engine channel tests' server and engine: an EngineServer on an event loop in a thread of
its own, as in the engine process, in front of a stand-in that answers like an engine and
remembers what it was asked (the channel, not the station, is under test); a client for it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ids
import pytest

from controller.engine import wire
from controller.engine.client import EngineClient
from controller.engine.port import AiringStates, ScreenText, ShownMessage
from controller.engine.server import EngineServer

T0 = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


class StandIn:
    """Answers like an engine and remembers what it was asked, and on which thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.threads: dict[str, str] = {}
        self.status_value: dict[str, Any] = {"on_air": [], "at": T0}
        self.status_delay_s = 0.0

    def _seen(self, name: str, arg: object = None) -> None:
        self.calls.append((name, arg))
        self.threads[name] = threading.current_thread().name

    def ready(self) -> bool:
        return True

    def status(self) -> dict[str, Any]:
        self._seen("status")
        time.sleep(self.status_delay_s)
        return self.status_value

    def airing_states(self) -> AiringStates:
        return AiringStates(frozenset({ids.override("a")}), frozenset({ids.override("b")}))

    def kick(self) -> None:
        self._seen("kick")

    def lead_s(self, zones: list[str]) -> float:
        self._seen("lead_s", zones)
        return 2.5

    def stop_air(self, reason: str) -> list[str]:
        self._seen("stop_air", reason)
        return ["slot|1"]

    def stop_airing(self, airing_id: str, reason: str) -> bool:
        self._seen("stop_airing", (airing_id, reason))
        return airing_id == ids.override("a")

    def push_message(self, message: ScreenText) -> ShownMessage:
        self._seen("push_message", message)
        if "\x00" in message.text:
            raise ValueError("屏幕 square 无法显示字符 '\\x00'")
        until = T0 + timedelta(minutes=message.minutes)
        return ShownMessage(7, message.text, ("square",), until, message.by)

    def withdraw(self, key: str) -> int:
        self._seen("withdraw", key)
        return 1

    def metrics_text(self) -> bytes:
        return b"# HELP x y\n"


class Running:
    """An EngineServer on an event loop in a thread of its own."""

    def __init__(self, engine: StandIn, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="engine-loop")
        self.thread.start()
        self.server = EngineServer(engine, wire.socket_path(folder), wire.token_path(folder))
        self.call(self.server.start())

    def call(self, work: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(work, self.loop)
        return future.result(10)

    def close(self) -> None:
        self.call(self.server.stop())
        self.call(_drain())  # whatever else the loop still runs ends before it closes
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def _drain() -> None:
    """Let what the loop still runs end (an accept in progress must finish: cancelled, it
    would leak the accepted socket), then cancel what would not."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=1.0)
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    await asyncio.sleep(0.01)  # closed transports let go of their sockets


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    wire.run_dir(tmp_path)
    return tmp_path


@pytest.fixture
def engine() -> StandIn:
    return StandIn()


@pytest.fixture
def server(engine: StandIn, folder: Path) -> Iterator[Running]:
    running = Running(engine, folder)
    yield running
    running.close()


@pytest.fixture
def client(folder: Path, server: Running) -> EngineClient:
    return EngineClient(wire.socket_path(folder), wire.token_path(folder), timeout_s=2.0)
