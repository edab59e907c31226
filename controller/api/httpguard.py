"""Connection hygiene under uvicorn: a cap on open connections, a deadline for request headers,
and refusals that can neither flood the log nor run the process out of file descriptors."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import os
import socket
import time
from collections import OrderedDict, deque
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

log = logging.getLogger(__name__)

REPORT_EVERY_S = 10.0  # at most one log line per this long about refused connections
PENDING_S = 5.0  # an accepted socket whose protocol never started is forgotten after this
ACCEPT_BATCH = 64  # sockets refused in one call, so one turn of the loop stays short
_FULL_BODY = "连接过多，请稍后再试 / too many connections, retry later\n".encode()
FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 5\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % len(_FULL_BODY)
) + _FULL_BODY
_SLOW_BODY = "请求头超时 / request headers not received in time\n".encode()
SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(_SLOW_BODY)
) + _SLOW_BODY


class ConnectionGate:
    """Counts the open connections. When all `limit` are taken, a new one displaces the one
    that has waited longest for its request headers (a half-open or idle connection costs the
    attacker nothing to open, a real client sends its headers at once); if every connection
    is busy with a request, the new one is refused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: OrderedDict[GuardedProtocol, None] = OrderedDict()  # oldest first
        self._busy: set[GuardedProtocol] = set()
        self._pending: deque[float] = deque()  # accepted, protocol not started yet
        self._refused = self._shed = 0
        self._reported = -math.inf

    @property
    def open(self) -> int:
        stale = time.monotonic() - PENDING_S
        while self._pending and self._pending[0] < stale:
            self._pending.popleft()
        return len(self._waiting) + len(self._busy) + len(self._pending)

    def admit(self) -> bool:
        """For a socket just accepted: True to serve it, False to refuse it."""
        if self.open >= self.limit:
            if not self._waiting:
                self.refused()
                return False
            oldest, _ = self._waiting.popitem(last=False)
            oldest.shed()
            self._shed += 1
            self._report()
        self._pending.append(time.monotonic())
        return True

    def refused(self) -> None:
        self._refused += 1
        self._report()

    def started(self, proto: GuardedProtocol) -> None:
        if self._pending:
            self._pending.popleft()
        self._waiting[proto] = None

    def waiting(self, proto: GuardedProtocol) -> None:
        self._busy.discard(proto)
        self._waiting.pop(proto, None)
        self._waiting[proto] = None  # to the young end: it has just started waiting

    def busy(self, proto: GuardedProtocol) -> None:
        self._waiting.pop(proto, None)
        self._busy.add(proto)

    def closed(self, proto: GuardedProtocol) -> None:
        self._waiting.pop(proto, None)
        self._busy.discard(proto)

    def _report(self) -> None:
        now = time.monotonic()
        if now - self._reported < REPORT_EVERY_S:
            return
        log.warning(
            "HTTP connections at the cap (%d open, limit %d): %d refused, %d waiting for"
            " headers closed, since the last report",
            self.open, self.limit, self._refused, self._shed,
        )  # fmt: skip
        self._reported, self._refused, self._shed = now, 0, 0


class GuardedSocket(socket.socket):
    """The listening socket: asks the gate about each connection it accepts, and handles
    EMFILE itself. asyncio's accept loop logs a traceback for every failed accept() of a
    batch and schedules a retry for each (issue 9: 562,202 lines a minute); here a spare
    descriptor is let go to accept and close the connection instead."""

    gate: ConnectionGate
    _spare: int | None
    _failed: bool

    @classmethod
    def listen_on(cls, host: str, port: int, gate: ConnectionGate, backlog: int) -> GuardedSocket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        plain = socket.socket(family, socket.SOCK_STREAM)
        plain.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        plain.bind((host, port))
        guarded = cls(plain.family, plain.type, plain.proto, fileno=plain.detach())
        guarded.listen(backlog)
        guarded.gate, guarded._failed = gate, False
        guarded._spare = os.open(os.devnull, os.O_RDONLY)
        return guarded

    def close(self) -> None:
        if getattr(self, "_spare", None) is not None:
            assert self._spare is not None
            os.close(self._spare)
            self._spare = None
        super().close()

    def accept(self) -> tuple[socket.socket, Any]:
        if self._failed:  # asyncio calls again at once after an error: end its batch here
            self._failed = False
            raise BlockingIOError
        for _ in range(ACCEPT_BATCH):
            try:
                conn, address = super().accept()
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE) or not self._drop_one():
                    self._failed = exc.errno in (errno.EMFILE, errno.ENFILE)
                    raise
                continue
            if self.gate.admit():
                return conn, address
            _refuse(conn)
        raise BlockingIOError  # more are waiting: the next turn of the loop takes them

    def _drop_one(self) -> bool:
        """Out of descriptors: free the spare, accept and close one connection, retake it."""
        if self._spare is None:
            return False
        os.close(self._spare)
        self._spare = None
        try:
            with contextlib.suppress(OSError):
                conn, _ = super().accept()
                conn.close()
        finally:
            try:
                self._spare = os.open(os.devnull, os.O_RDONLY)
            except OSError:
                self._spare = None
        self.gate.refused()
        return True


def _refuse(conn: socket.socket) -> None:
    conn.setblocking(False)
    with contextlib.suppress(OSError):  # a peer that is gone, or a full buffer: just close
        conn.send(FULL)
    conn.close()


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for request headers: uvicorn's keep-alive
    timeout is cancelled by any byte received, so a client trickling its headers (or never
    sending them, or trickling an unread body after the answer) would hold the connection
    for ever. The deadline runs whenever no request is in progress."""

    gate: ConnectionGate
    header_timeout_s: float

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timer: asyncio.TimerHandle | None = None
        self._got_bytes = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.gate.started(self)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.gate.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        super().data_received(data)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before and self.cycle is not None and not self.cycle.response_complete:
            self._disarm()
            self.gate.busy(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self._got_bytes = False
            self.gate.waiting(self)
            self._arm()

    def shed(self) -> None:
        """Closed by the gate to make room."""
        self._disarm()
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._got_bytes:  # a silent idle connection just closes, as on keep-alive
            self.transport.write(SLOW)
        self.transport.close()


def guarded_protocol(gate: ConnectionGate, header_timeout_s: float) -> type[GuardedProtocol]:
    """The protocol class for one server (uvicorn builds it from the class alone)."""
    return type(
        "StationProtocol",
        (GuardedProtocol,),
        {"gate": gate, "header_timeout_s": header_timeout_s},
    )
