"""The app served by the real uvicorn server (with the connection guard) on a free loopback
port, in a thread of the test process, so a test can reach into its event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import socket
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from controller.api.app import create_app
from controller.api.serve import build_server
from controller.config import load_config
from controller.core.clock import Clock

T = TypeVar("T")


class LiveApi:
    def __init__(self, config: Path, clock: Clock, **api: Any) -> None:
        loaded = load_config(config)
        cfg = loaded.config
        cfg = cfg.model_copy(update={"api": cfg.api.model_copy(update=api)})
        loaded = dataclasses.replace(loaded, config=cfg)
        self.server, self.sock = build_server(create_app(loaded, clock), cfg.api, port=0)
        self.port: int = self.sock.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> LiveApi:
        self._thread.start()
        status, _ = self.request("GET", "/healthz", timeout=30)  # the socket listens already
        assert status == 200
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self.loop.close()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's event loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        address = ("127.0.0.1", self.port)
        return socket.create_connection(address, timeout=10, source_address=(source, 0))

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, Any]:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            sent = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw)
            except ValueError:
                return response.status, raw.decode(errors="replace")
        finally:
            conn.close()


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (the socket's timeout bounds the wait)."""
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return out
        if not chunk:
            return out
        out += chunk
