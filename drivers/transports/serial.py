"""A serial line (device path or pyserial URL): exclusive, one request at a time, reopened."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import TypeVar

import serial

try:
    from termios import error as _TermiosError
except ImportError:  # not POSIX
    _TermiosError = OSError  # type: ignore[misc,assignment]

log = logging.getLogger(__name__)

# What a vanished tty raises: EIO as OSError from read/write, pyserial's own exception, and
# termios.error (not an OSError) from tcflush/tcsetattr.
_PORT_ERRORS = (OSError, serial.SerialException, _TermiosError)

T = TypeVar("T")
Opener = Callable[..., serial.Serial]

_READ_POLL_S = 0.02  # one blocking read waits at most this long, so timeouts stay accurate
_WRITE_TIMEOUT_S = 2.0


class SerialError(Exception):
    """A serial failure, said Chinese first, then English."""


class SerialUnavailable(SerialError):
    """The port cannot be opened or went away; nothing was (completely) sent."""


class SerialTimeout(SerialError):
    """The request went out but no complete reply came back in time."""


class SerialBus:
    """One port shared by every device on it (an RS-485 bus is half-duplex).

    Requests take turns under one lock; the blocking pyserial calls run in a worker thread.
    When the port fails (USB adapter unplugged, converter gone) it is closed and reopened on
    the next request, no sooner than a growing backoff — unless a device path that had
    vanished is back, then at once. A handle that went stale while idle is replaced once,
    immediately, so the first request after the port returns succeeds.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        backoff_s: tuple[float, float] = (0.2, 5.0),
        gap_s: float = 0.0,
        opener: Opener = serial.serial_for_url,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self._backoff_first, self._backoff_max = backoff_s
        self._gap_s = gap_s  # silence kept before each request (Modbus t3.5)
        self._opener = opener
        self._serial: serial.Serial | None = None
        self._lock = asyncio.Lock()
        self._users = 0
        self._backoff = 0.0
        self._retry_at = 0.0
        self._vanished = False
        self._quiet_since = 0.0
        self.last_error: str | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    async def attach(self) -> None:
        """A device starts using the bus: open it now if possible (failures are retried later)."""
        self._users += 1
        async with self._lock:
            try:
                await self._ensure_open()
            except SerialUnavailable as exc:
                log.warning("%s", exc)

    async def detach(self) -> None:
        """A device stops using the bus; the last one out closes it."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            async with self._lock:
                self._close()

    async def request(
        self, frame: bytes, reply: Callable[[bytes], T | None], timeout_s: float
    ) -> T:
        """Send `frame`, feed what comes back to `reply` until it returns a result, or time out."""
        return await self._run(lambda port: self._exchange(port, frame, reply, timeout_s))

    async def send(self, frame: bytes) -> None:
        """Write-only devices: the frame is out of our hands once this returns."""
        await self._run(lambda port: self._write(port, frame))

    async def _run(self, job: Callable[[serial.Serial], T]) -> T:
        async with self._lock:
            stale_retry = self._serial is not None
            while True:
                port = await self._ensure_open()
                try:
                    return await _in_thread(job, port)
                except _PORT_ERRORS as exc:
                    self._lost(exc)
                    if not stale_retry:
                        raise SerialUnavailable(self.last_error or str(exc)) from exc
                    stale_retry = False  # an idle handle may have gone stale: reopen once

    async def _ensure_open(self) -> serial.Serial:
        if self._serial is not None:
            return self._serial
        came_back = self._vanished and os.path.exists(self.port)
        if time.monotonic() < self._retry_at and not came_back:
            raise SerialUnavailable(
                f"串口 {self.port} 不可用，稍后重试 / serial port {self.port} unavailable, next "
                f"attempt in {self._retry_at - time.monotonic():.1f} s (last: {self.last_error})"
            )
        try:
            self._serial = await _in_thread(self._open)
        except (*_PORT_ERRORS, ValueError) as exc:
            self._backoff = min(self._backoff_max, self._backoff * 2 or self._backoff_first)
            self._retry_at = time.monotonic() + self._backoff
            self._vanished = "://" not in self.port and not os.path.exists(self.port)
            self.last_error = (
                f"串口 {self.port} 无法打开 / serial port {self.port} cannot be opened: {exc}"
            )
            raise SerialUnavailable(self.last_error) from exc
        if self._backoff:
            log.info("serial port %s open again", self.port)
        self._backoff, self._retry_at, self._vanished = 0.0, 0.0, False
        self.last_error = None
        return self._serial

    def _open(self) -> serial.Serial:
        # exclusive=True takes an flock on POSIX: two daemons on one RS-485 adapter would
        # garble each other's frames, so the second one must fail to open instead.
        return self._opener(
            self.port,
            baudrate=self.baudrate,
            timeout=_READ_POLL_S,
            write_timeout=_WRITE_TIMEOUT_S,
            exclusive=True,
        )

    def _lost(self, exc: BaseException) -> None:
        self.last_error = f"串口 {self.port} 连接中断 / serial port {self.port} lost: {exc}"
        log.warning("%s", self.last_error)
        self._close()

    def _close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except _PORT_ERRORS as exc:
                log.debug("closing %s: %s", self.port, exc)
            self._serial = None

    def _exchange(
        self,
        port: serial.Serial,
        frame: bytes,
        reply: Callable[[bytes], T | None],
        timeout_s: float,
    ) -> T:
        port.reset_input_buffer()  # a late answer to an earlier request is not this reply
        self._write(port, frame)
        deadline = time.monotonic() + timeout_s
        while True:
            chunk = port.read(max(1, port.in_waiting))
            if chunk:
                result = reply(chunk)
                if result is not None:
                    self._quiet_since = time.monotonic()
                    return result
            if time.monotonic() >= deadline:
                self._quiet_since = time.monotonic()
                raise SerialTimeout(
                    f"串口 {self.port} 在 {timeout_s:g} 秒内无应答 / no reply on serial port "
                    f"{self.port} within {timeout_s:g} s"
                )

    def _write(self, port: serial.Serial, frame: bytes) -> None:
        wait = self._quiet_since + self._gap_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        port.write(frame)
        port.flush()
        self._quiet_since = time.monotonic()


async def _in_thread(job: Callable[..., T], *args: object) -> T:
    """Run a blocking call in a thread; if the caller is cancelled, still wait for the thread
    to finish, so the bus lock is never released while a worker still uses the port."""
    task = asyncio.ensure_future(asyncio.to_thread(job, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the caller is gone and no longer wants it
        raise


class SerialBuses:
    """The station's serial lines by port, so several boards on one bus share its lock."""

    def __init__(self) -> None:
        self._buses: dict[str, SerialBus] = {}

    def get(self, port: str, baudrate: int, *, gap_s: float = 0.0) -> SerialBus:
        bus = self._buses.get(port)
        if bus is None:
            bus = self._buses[port] = SerialBus(port, baudrate=baudrate, gap_s=gap_s)
        elif bus.baudrate != baudrate:
            raise ValueError(
                f"串口 {port} 的波特率配置冲突 / serial port {port} configured with both "
                f"{bus.baudrate} and {baudrate} baud"
            )
        return bus
