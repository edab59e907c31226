"""The engine channel's framing and credentials: a Unix socket in `var/run/` (mode 0600, its
folder 0700), frames of a 4-byte big-endian length and UTF-8 JSON, each request carrying the
token the engine wrote for this run, and the peer's uid checked by the kernel (SO_PEERCRED)."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import struct
from datetime import date, datetime
from pathlib import Path
from typing import Any

MAX_FRAME = 8 * 1024 * 1024  # a thousand zones' status is well under 1 MB
HEADER = struct.Struct(">I")
PEERCRED = struct.Struct("3i")  # pid, uid, gid


class FrameError(ValueError):
    """A frame that is too long, cut short or not JSON: the connection is closed."""


def socket_path(data_dir: Path) -> Path:
    return data_dir / "run" / "engine.sock"


def token_path(data_dir: Path) -> Path:
    return data_dir / "run" / "engine.token"


def run_dir(data_dir: Path) -> Path:
    """`var/run/`, made private to this user."""
    folder = data_dir / "run"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _plain(value: object) -> object:
    """What JSON lacks, as the HTTP API renders it: records as objects, instants as ISO."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def encode(message: Any) -> bytes:
    body = json.dumps(message, ensure_ascii=False, allow_nan=False, default=_plain).encode()
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame of {len(body)} bytes exceeds {MAX_FRAME}")
    return HEADER.pack(len(body)) + body


def frame_length(header: bytes) -> int:
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise FrameError(f"frame of {length} bytes exceeds {MAX_FRAME}")
    return int(length)


def decode(body: bytes) -> Any:
    try:
        return json.loads(body.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(f"not JSON: {exc}") from None


def recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise FrameError("connection closed mid-frame")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> Any:
    return decode(recv_exact(sock, frame_length(recv_exact(sock, HEADER.size))))


def write_token(path: Path) -> str:
    """A fresh token for this run of the engine, written 0600 before anyone may read it."""
    token = secrets.token_hex(32)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    os.replace(tmp, path)
    return token


def read_token(path: Path) -> str:
    return path.read_text().strip()


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket, as the kernel tells it."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEERCRED.size)
    return int(PEERCRED.unpack(raw)[1])
