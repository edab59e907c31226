"""One Modbus unit on a serial bus: a request frame out, its reply back, refusals raised."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from drivers.protocols.modbus import ExceptionReply, ReplyEvent, ReplyParser, Request
from drivers.transports.serial import SerialBus, SerialError

log = logging.getLogger(__name__)


class ModbusRefused(Exception):
    """The board answered with a Modbus exception."""

    def __init__(self, reply: ExceptionReply) -> None:
        super().__init__(f"Modbus exception 0x{reply.code:02X} {reply.name}")
        self.reply = reply


class ModbusLink:
    """Talks to one unit and remembers whether it answered the last time."""

    def __init__(self, bus: SerialBus, name: str, timeout_s: float) -> None:
        self.bus = bus
        self._name = name
        self._timeout_s = timeout_s
        self.available: bool | None = None  # None: not asked yet
        self.available_since: datetime | None = None
        self.last_seen: datetime | None = None

    async def exchange(self, request: Request) -> ReplyEvent:
        """The reply to `request` (never an ExceptionReply: that raises ModbusRefused).

        Raises SerialTimeout when no valid reply came in time, SerialUnavailable when the port
        is gone.
        """
        parser = ReplyParser(request)

        def take(data: bytes) -> ReplyEvent | None:
            parser.feed(data)
            return parser.next_event()

        try:
            reply: ReplyEvent = await self.bus.request(request.frame, take, self._timeout_s)
        except SerialError:
            self._set_available(False)
            raise
        if parser.discarded:
            log.info("%s: skipped %d bytes of line noise", self._name, parser.discarded)
        self.last_seen = datetime.now(UTC)
        self._set_available(True)
        if isinstance(reply, ExceptionReply):
            raise ModbusRefused(reply)
        return reply

    def _set_available(self, available: bool) -> None:
        if available != self.available:
            self.available, self.available_since = available, datetime.now(UTC)
