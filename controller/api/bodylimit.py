"""ASGI middleware that refuses request bodies over a size limit (413) before they are stored,
and cuts off bodies that arrive too slowly (408)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class BodyPace:
    """How slowly a body may arrive: `timeout_s` for the first bytes, one more second for
    each `min_rate` bytes received, never longer than `deadline_s` in all (after Apache's
    mod_reqtimeout: a slow link gets time in proportion to what it sends; a trickle of
    one byte every two seconds does not)."""

    timeout_s: float
    min_rate: int
    deadline_s: float

    def allowed_until(self, began: float, received: int) -> float:
        return began + min(self.deadline_s, self.timeout_s + received / self.min_rate)


class SlowBody(HTTPException):
    """Raised from receive(): an HTTPException, so FastAPI's body parsing passes it on."""

    def __init__(self) -> None:
        super().__init__(
            408, "请求体发送过慢，已中断 / request body too slow, cut off",
            headers={"Connection": "close"},  # the rest of the body is never read
        )  # fmt: skip


class BodyLimitMiddleware:
    """Checks Content-Length up front and counts streamed bytes, so chunked bodies stop too.

    `limit_for(scope)` gives the byte limit for a request (None: no limit); `pace`, if
    given, how slowly any body may arrive.
    """

    def __init__(
        self, app: ASGIApp, limit_for: Callable[[Scope], int | None], pace: BodyPace | None = None
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.pace = pace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = False
        began, body_done = time.monotonic(), False

        async def counting_receive() -> Message:
            nonlocal received, body_done
            if body_done or self.pace is None:  # e.g. a stream waiting for the disconnect
                message = await receive()
            else:
                left = self.pace.allowed_until(began, received) - time.monotonic()
                try:
                    async with asyncio.timeout(max(left, 0.0)):
                        message = await receive()
                except TimeoutError:
                    raise SlowBody from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    raise _TooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if started:  # too late for a clean answer; drop the connection
                raise
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    mb = limit / 1_048_576
    body = json.dumps(
        {"detail": f"请求体过大，上限 {mb:.3g} MB / request body too large (limit {mb:.3g} MB)"},
        ensure_ascii=False,
    ).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
