"""The engine channel (issue 9): the API process reaches the engine only through a private Unix
socket, with a per-run token and the peer's uid checked; bad frames, wrong tokens, a stuck or
restarted engine are each answered, never hung on.

The server runs on an event loop in a thread, as in the engine process; the engine behind it
is a recording stand-in (the channel, not the station, is under test here).
"""

from __future__ import annotations

import asyncio
import math
import socket
import stat
import struct
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
from controller.engine.port import AiringStates, EngineUnavailable, ScreenText, ShownMessage
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


def raw(folder: Path, payload: bytes) -> bytes:
    """Send bytes as they are; what comes back before the engine closes the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(wire.socket_path(folder)))
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
        return got


def answer(data: bytes) -> dict[str, Any]:
    (length,) = struct.unpack(">I", data[:4])
    found: dict[str, Any] = wire.decode(data[4 : 4 + length])
    return found


def test_every_command_crosses_the_channel_with_its_arguments(
    client: EngineClient, engine: StandIn
) -> None:
    assert client.ping()["started"] is True
    assert client.lead_s(["east", "west"]) == 2.5
    assert client.stop_air("停播 / stopped: 演练（op）") == ["slot|1"]
    assert (
        client.stop_airing(ids.override("a"), "r") is True
        and client.stop_airing(ids.override("z"), "r") is False
    )
    client.kick()
    assert client.withdraw("k1") == 1
    pushed = ScreenText("注意防骗", None, 5.0, "police", "yellow", 90, "k1", T0)
    shown = client.push_message(pushed)
    assert shown == ShownMessage(7, "注意防骗", ("square",), T0 + timedelta(minutes=5), "police")
    assert client.airing_states() == AiringStates(
        frozenset({ids.override("a")}), frozenset({ids.override("b")})
    )
    assert client.status() == {"on_air": [], "at": T0.isoformat()}
    assert client.metrics_text() == b"# HELP x y\n"
    assert [c for c in engine.calls if c[0] != "status"] == [
        ("lead_s", ["east", "west"]),
        ("stop_air", "停播 / stopped: 演练（op）"),
        ("stop_airing", (ids.override("a"), "r")),
        ("stop_airing", (ids.override("z"), "r")),
        ("kick", None),
        ("withdraw", "k1"),
        ("push_message", pushed),
    ]
    # commands run on the engine's loop; the status (database reads) never does
    assert engine.threads["stop_air"] == "engine-loop"
    assert engine.threads["status"].startswith("engine-read")


def test_the_operator_hears_why_a_screen_refused_a_text(client: EngineClient) -> None:
    with pytest.raises(ValueError, match="无法显示字符"):
        client.push_message(ScreenText("a\x00b", ["square"], 1.0, "op"))


def test_wrong_or_missing_token_is_refused_and_the_engine_is_not_asked(
    folder: Path, engine: StandIn
) -> None:
    running = Running(engine, folder)
    try:
        for request in (
            {"op": "stop_air", "args": {"reason": "x"}},
            {"token": "0" * 64, "op": "stop_air", "args": {"reason": "x"}},
        ):
            reply = answer(raw(folder, wire.encode(request)))
            assert reply["ok"] is False and reply["error"] == "auth"
        assert engine.calls == []
    finally:
        running.close()


def test_bad_frames_close_the_connection_without_an_answer(
    folder: Path, server: Running, client: EngineClient, engine: StandIn
) -> None:
    assert raw(folder, struct.pack(">I", wire.MAX_FRAME + 1) + b"x" * 100) == b""
    assert raw(folder, struct.pack(">I", 5) + b"\xff\xfe{[}") == b""
    assert raw(folder, struct.pack(">I", 50) + b"{}") == b""  # cut short
    assert engine.calls == []
    assert client.ping()["started"] is True  # and the engine serves the next one


def test_unknown_ops_and_wrong_argument_types_are_answered_not_obeyed(
    folder: Path, server: Running, engine: StandIn
) -> None:
    token = wire.read_token(wire.token_path(folder))
    for op, args in (
        ("shutdown", {}),
        ("stop_air", {"reason": 5}),
        ("lead_s", {"zones": "east"}),
        ("push_message", {"text": "x", "by": "p", "minutes": math.inf, "color": "blue"}),
        ("stop_air", []),
    ):
        reply = answer(
            raw(
                folder,
                wire.encode({"token": token, "op": op, "args": args})
                if not (isinstance(args, dict) and math.inf in args.values())
                else _with_inf(token, op, args),
            )
        )
        assert reply["ok"] is False and reply["error"] == "bad_request", (op, reply)
    assert engine.calls == []


def _with_inf(token: str, op: str, args: dict[str, Any]) -> bytes:
    """A frame carrying `Infinity`, which Python's json reads but strict writers never send."""
    import json

    body = json.dumps({"token": token, "op": op, "args": args}).encode()
    return struct.pack(">I", len(body)) + body


def test_a_status_json_cannot_carry_is_answered_as_an_error(
    client: EngineClient, engine: StandIn
) -> None:
    engine.status_value = {"level": math.nan}
    with pytest.raises(EngineUnavailable, match="internal"):
        client.status()
    assert client.ping()["started"] is True


def test_a_stuck_engine_costs_the_caller_its_timeout_not_more(
    folder: Path, server: Running, engine: StandIn
) -> None:
    engine.status_delay_s = 3.0
    quick = EngineClient(wire.socket_path(folder), wire.token_path(folder), timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as raised:
        quick.status()
    assert time.monotonic() - started < 2.5  # sanity bound: the timeout, not the 3 s
    assert "播出引擎暂时无法响应" in str(raised.value)


def test_a_restarted_engine_with_a_new_token_is_found_again(folder: Path, engine: StandIn) -> None:
    first = Running(engine, folder)
    client = EngineClient(wire.socket_path(folder), wire.token_path(folder), timeout_s=2.0)
    assert client.ping()["started"]
    old = wire.read_token(wire.token_path(folder))
    first.close()
    with pytest.raises(EngineUnavailable):
        client.ping()
    second = Running(engine, folder)
    try:
        assert wire.read_token(wire.token_path(folder)) != old
        assert client.ping()["started"]  # re-read the token once, then answered
    finally:
        second.close()


def test_no_engine_running_is_said_plainly(tmp_path: Path) -> None:
    client = EngineClient(wire.socket_path(tmp_path), wire.token_path(tmp_path), timeout_s=0.5)
    with pytest.raises(EngineUnavailable, match="no engine running"):
        client.status()
    client.start()  # the pinger copes too
    try:
        assert client.ready() is False
    finally:
        client.close()


def test_socket_token_and_folder_are_private_to_the_station_user(
    folder: Path, server: Running
) -> None:
    assert stat.S_IMODE((folder / "run").stat().st_mode) == 0o700
    assert stat.S_IMODE(wire.socket_path(folder).stat().st_mode) == 0o600
    assert stat.S_IMODE(wire.token_path(folder).stat().st_mode) == 0o600
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(wire.socket_path(folder)))
        assert wire.peer_uid(sock) == __import__("os").getuid()
