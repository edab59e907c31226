"""The engine channel's guard (issue 9): a request needs the per-run token, the socket, the
token and their folder are private to the station user, and the peer's uid is read; frames
too large, malformed or cut short, unknown ops and wrong argument types are refused and never
reach the engine, which goes on serving.

Against the recording stand-in engine of tests/rig_engine_channel.py."""

from __future__ import annotations

import math
import socket
import stat
import struct
from pathlib import Path
from typing import Any

from rig_engine_channel import Running, StandIn, client, engine, folder, server

from controller.engine import wire
from controller.engine.client import EngineClient

__all__ = ["client", "engine", "folder", "server"]  # the fixtures, so pytest finds them here


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


def test_socket_token_and_folder_are_private_to_the_station_user(
    folder: Path, server: Running
) -> None:
    assert stat.S_IMODE((folder / "run").stat().st_mode) == 0o700
    assert stat.S_IMODE(wire.socket_path(folder).stat().st_mode) == 0o600
    assert stat.S_IMODE(wire.token_path(folder).stat().st_mode) == 0o600
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(wire.socket_path(folder)))
        assert wire.peer_uid(sock) == __import__("os").getuid()
