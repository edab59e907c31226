"""Stand-ins for the alert channels' far ends: a tiny threaded HTTP receiver on a free loopback
port (a webhook, the 企业微信 and 钉钉 robots) and an aiosmtpd mail server."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from peers.mosquitto import free_port


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # the JSON the request carried
    at: float  # time.monotonic() when it arrived


@dataclass
class Receiver:
    """POSTs are recorded; `answer` is what the robots say (errcode 0), `fail_first` turns the
    first requests away with HTTP 500, `hang` never answers (until closed)."""

    answer: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    fail_first: int = 0
    hang: bool = False
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._release = threading.Event()
        self._arrived = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                got = Received(parts.path, query, dict(self.headers), json.loads(raw),
                               time.monotonic())  # fmt: skip
                with owner._arrived:
                    owner.received.append(got)
                    owner._arrived.notify_all()
                    refuse = len(owner.received) <= owner.fail_first
                if owner.hang:
                    owner._release.wait(60)
                    return
                body = json.dumps(owner.answer).encode()
                self.send_response(500 if refuse else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} requests arrived")
                self._arrived.wait(left)
            return list(self.received)

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class MailServer:
    """aiosmtpd on a free loopback port (plain SMTP: `security: none`)."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def close(self) -> None:
        self._controller.stop()


def unused_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    return free_port()
