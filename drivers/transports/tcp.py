"""A TCP request/response line (e.g. an Onbon card on port 5005): one request at a time,
reconnected on demand with a growing backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_READ_CHUNK = 4096


class TcpError(Exception):
    """A TCP failure, said Chinese first, then English."""


class TcpUnavailable(TcpError):
    """No connection (refused, unreachable, or lost before a reply)."""


class TcpTimeout(TcpError):
    """The request went out but no complete reply came back in time."""


class TcpLine:
    """One connection to `host:port`, shared by the requests of one device under a lock.

    The connection opens on the first request, not in `attach`, so a station starts even with
    a screen down. After a failed connect, requests fail at once until a backoff (doubling up
    to its maximum) has passed, so a dead card is not hammered. A kept connection that turns
    out dead when used (the card rebooted overnight) is replaced once, immediately: the
    commands sent over it are idempotent. After a timeout the connection is dropped, so a late
    reply can never be taken for the answer to the next request.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout_s: float = 3.0,
        backoff_s: tuple[float, float] = (0.2, 10.0),
    ) -> None:
        self.host = host
        self.port = port
        self._connect_timeout_s = connect_timeout_s
        self._backoff_first, self._backoff_max = backoff_s
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._backoff = 0.0
        self._retry_at = 0.0
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def attach(self) -> None:
        """A device starts using the line; it connects on its first request."""

    async def detach(self) -> None:
        """Close the connection (the next request would open a new one)."""
        async with self._lock:
            await self._close()

    async def request(
        self, frame: bytes, reply: Callable[[bytes], T | None], timeout_s: float
    ) -> T:
        """Send `frame`, feed what comes back to `reply` until it returns a result, or time out."""
        async with self._lock:
            reused = self._writer is not None
            while True:
                reader, writer = await self._ensure_open(timeout_s)
                try:
                    return await self._exchange(reader, writer, frame, reply, timeout_s)
                except (OSError, EOFError) as exc:
                    await self._lost(exc)
                    if not reused:
                        raise TcpUnavailable(self.last_error or str(exc)) from exc
                    reused = False
                except BaseException:
                    await self._close()  # timeout or cancelled mid-exchange: state unknown
                    raise

    async def _ensure_open(
        self, timeout_s: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is not None and self._writer is not None:
            return self._reader, self._writer
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise TcpUnavailable(
                f"无法连接 {self.name}，{wait:.1f} 秒后重试 / cannot connect to {self.name}, "
                f"next attempt in {wait:.1f} s (last: {self.last_error})"
            )
        try:
            async with asyncio.timeout(min(timeout_s, self._connect_timeout_s)):
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except (OSError, TimeoutError) as exc:
            self._backoff = min(self._backoff_max, self._backoff * 2 or self._backoff_first)
            self._retry_at = time.monotonic() + self._backoff
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            self.last_error = f"无法连接 {self.name} / cannot connect to {self.name}: {reason}"
            raise TcpUnavailable(self.last_error) from exc
        if self._backoff:
            log.info("tcp %s: connected again", self.name)
        self._backoff, self._retry_at, self.last_error = 0.0, 0.0, None
        return self._reader, self._writer

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        frame: bytes,
        reply: Callable[[bytes], T | None],
        timeout_s: float,
    ) -> T:
        writer.write(frame)
        try:
            async with asyncio.timeout(timeout_s):
                await writer.drain()
                while True:
                    chunk = await reader.read(_READ_CHUNK)
                    if not chunk:
                        raise EOFError("connection closed by the peer")
                    result = reply(chunk)
                    if result is not None:
                        return result
        except TimeoutError:
            self.last_error = (
                f"{self.name} 在 {timeout_s:g} 秒内无应答 / no reply from {self.name} "
                f"within {timeout_s:g} s"
            )
            raise TcpTimeout(self.last_error) from None

    async def _lost(self, exc: BaseException) -> None:
        self.last_error = f"与 {self.name} 的连接中断 / connection to {self.name} lost: {exc}"
        log.warning("%s", self.last_error)
        await self._close()

    async def _close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
