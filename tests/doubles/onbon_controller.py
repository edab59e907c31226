"""An Onbon BX-5K/6K controller card double on loopback TCP, written from the protocol document.

Deliberately shares no code with drivers/protocols: its own frame reader, CRC (bitwise, not the
table), escaping and area parser, so a mistake in the product's codec shows up as a mismatch
here instead of being mirrored. It answers ACK/NACK like the card (§5–7), keeps the dynamic
areas it was sent (honouring run mode 2's timeout) and records every request. Fault modes:
always NACK with a code, stay silent, drop the connection, send garbage before each reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

COLOR_NAMES = {"1": "red", "2": "green", "3": "yellow", "4": "blue", "5": "cyan", "6": "magenta"}
FONT_PX = {"0": 16, "1": 24, "2": 32}
_PLAIN = {(0xA6, 2): 0xA5, (0xA6, 1): 0xA6, (0x5B, 2): 0x5A, (0x5B, 1): 0x5B}
_ESCAPED = {plain: bytes(pair) for pair, plain in _PLAIN.items()}


def crc16_arc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _unescape(body: bytes) -> bytes | None:
    out, i = bytearray(), 0
    while i < len(body):
        if body[i] in (0xA6, 0x5B):
            nxt = body[i + 1] if i + 1 < len(body) else None
            if nxt not in (0x01, 0x02):
                return None
            out.append(_PLAIN[(body[i], nxt)])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return bytes(out)


def _frame(dst: int, src: int, data: bytes) -> bytes:
    """A frame as the card sends it (its own encoder: header, CRC, escaping)."""
    head = dst.to_bytes(2, "little") + src.to_bytes(2, "little") + bytes(6) + b"\xfe\x02"
    plain = head + len(data).to_bytes(2, "little") + data
    plain += crc16_arc(plain).to_bytes(2, "little")
    return b"\xa5" * 8 + b"".join(_ESCAPED.get(b, bytes((b,))) for b in plain) + b"\x5a"


@dataclass(frozen=True)
class ShownText:
    """One dynamic area as the card took it, its Data read back into text and attributes."""

    at: float  # time.monotonic()
    area_id: int
    text: str
    color: str | None
    font_px: int | None
    run_mode: int
    timeout_s: int
    effect: int
    single_line: bool
    box: tuple[int, int, int, int]  # x, y, width, height in pixels
    data: bytes


@dataclass(frozen=True)
class Received:
    at: float
    dst: int
    group: int
    cmd: int
    data: bytes


def read_text(data: bytes) -> tuple[str, str | None, int | None]:
    """Text, colour and font of an area's Data: escapes (§11.1) stripped, GB2312 decoded."""
    raw, color, font, i = bytearray(), None, None, 0
    while i < len(data):
        if data[i] != 0x5C:  # GB2312 trail bytes are ≥ 0xA1, so a 5C is always a backslash
            raw.append(data[i])
            i += 1
            continue
        kind = chr(data[i + 1])
        if kind == "F":  # \FO00n Chinese font, \FE00n English font
            if chr(data[i + 2]) == "O":
                font = FONT_PX.get(chr(data[i + 5]))
            i += 6
        elif kind == "C":
            color = COLOR_NAMES.get(chr(data[i + 2]), "white")
            i += 3
        elif kind == "n":
            raw += b"\n"
            i += 2
        else:
            raise ValueError(f"unknown escape \\{kind}")
    return raw.decode("gb2312"), color, font


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "little")


def read_areas(data: bytes, at_time: float) -> tuple[list[int] | None, list[ShownText]]:
    """A3 06 (§8.2.1): the area ids to delete (None: all) and the areas sent."""
    delete_count = data[5]
    pos = 6 if delete_count == 0xFF else 6 + delete_count
    delete = None if delete_count == 0xFF else list(data[6:pos])
    areas = []
    for _ in range(data[pos]):
        length = _u16(data, pos + 1)
        a = data[pos + 3 : pos + 3 + length]
        pos += 2 + length
        x, y, w, h = _u16(a, 1) & 0x7FFF, _u16(a, 3), _u16(a, 5) & 0x7FFF, _u16(a, 7)
        area_id, run_mode, timeout, sound = a[9], a[11], _u16(a, 12), a[14]
        if sound != 0:
            raise ValueError("the product sends no voice")
        p = 16 + a[15]  # after ExtendParaLen and its extension bytes
        single_line, effect = a[p + 1] == 0x01, a[p + 3]
        text_len = int.from_bytes(a[p + 7 : p + 11], "little")
        text_data = a[p + 11 : p + 11 + text_len]
        if len(text_data) != text_len:
            raise ValueError("area DataLen does not match")
        text, color, font = read_text(text_data)
        box = (x, y, w, h)
        fields = (area_id, text, color, font, run_mode, timeout, effect, single_line, box)
        areas.append(ShownText(at_time, *fields, text_data))
    if pos + 1 != len(data):
        raise ValueError("bytes after the last area")
    return delete, areas


@dataclass
class OnbonControllerDouble:
    """`async with OnbonControllerDouble() as card:` → a card listening on 127.0.0.1:card.port."""

    address: int = 1
    port: int = 0
    nack_code: int | None = None  # refuse every command with this CmdError
    silent: bool = False  # read requests, never answer
    close_on_request: bool = False  # drop the connection when a request arrives
    garbage: bytes = b""  # sent before each reply
    powered: bool = True
    brightness: int = 15
    requests: list[Received] = field(default_factory=list)
    shown: list[ShownText] = field(default_factory=list)
    areas: dict[int, ShownText] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    clears: int = 0
    connections: int = 0
    _server: asyncio.Server | None = field(default=None, init=False, repr=False)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set, init=False, repr=False)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    host = "127.0.0.1"

    async def __aenter__(self) -> OnbonControllerDouble:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen (again, on the same port after a stop: a card that rebooted)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection (a card switched off)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        # Each handler ends once its connection is closed for good: none is left to the loop's
        # shutdown (or the garbage collector) half-closed.
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def showing(self, area_id: int = 0) -> str | None:
        """The text of an area now, gone once a run-mode-2 area outlived its timeout."""
        area = self.areas.get(area_id)
        if area is None:
            return None
        if area.run_mode == 2 and time.monotonic() > area.at + area.timeout_s:
            return None
        return area.text

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._writers.add(writer)
        self._handlers.add(task)
        self.connections += 1
        state, body = "idle", bytearray()
        try:
            while chunk := await reader.read(4096):
                for byte in chunk:
                    if byte == 0xA5:
                        state, body = "preamble", bytearray()
                    elif state == "preamble" or state == "body":
                        if byte == 0x5A:
                            state = "idle"
                            if not await self._handle(bytes(body), writer):
                                return
                        else:
                            state = "body"
                            body.append(byte)
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _handle(self, escaped: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one frame; False when the connection is to be dropped."""
        plain = _unescape(escaped)
        if plain is None or len(plain) < 16 or _u16(plain, 12) != len(plain) - 16:
            self.errors.append(f"malformed frame {escaped.hex(' ')}")
            return True
        dst, src, data = _u16(plain, 0), _u16(plain, 2), plain[14:-2]
        if len(data) < 5:
            self.errors.append(f"data field too short: {data.hex(' ')}")
            return True
        if dst not in (self.address, 0xFFFE, 0xFFFF) and not 0x8000 <= dst <= 0xDFFF:
            return True  # for another card on the bus
        now = time.monotonic()
        self.requests.append(Received(now, dst, data[0], data[1], data))
        if self.close_on_request:
            return False
        if crc16_arc(plain[:-2]) != _u16(plain, len(plain) - 2):
            code: int | None = 5  # ERR_CHECKSUM, as in the document's NACK example
        else:
            code = self.nack_code if self.nack_code is not None else self._apply(data, now)
        if self.silent or dst == 0xFFFF or data[2] == 0x02:
            return True
        if code is None:
            reply = bytes((0xA1, 0x02, 0, 0, 0)) + self._status()
        else:
            reply = bytes((0xA0, 0x00 if code == 0 else 0x01, code, 0, 0))
        writer.write(self.garbage + _frame(src, dst, reply))
        await writer.drain()
        return True

    def _apply(self, data: bytes, now: float) -> int | None:
        """Carry out a command: 0 for ACK, a CmdError for NACK, None for a status reply."""
        command = (data[0], data[1])
        if command == (0xA2, 0x00):
            return 0
        if command == (0xA1, 0x02):
            return None
        if command == (0xA3, 0x00) and len(data) == 6 and data[5] in (1, 2):
            self.powered = data[5] == 1
            return 0
        if command == (0xA3, 0x10):
            self.areas.clear()
            self.clears += 1
            return 0
        if command == (0xA3, 0x06):
            try:
                delete, areas = read_areas(data, now)
            except (IndexError, ValueError) as exc:
                self.errors.append(f"bad dynamic area: {exc!r}")
                return 2
            for area_id in list(self.areas) if delete is None else delete:
                self.areas.pop(area_id, None)
            for area in areas:
                self.areas[area.area_id] = area
                self.shown.append(area)
            return 0
        return 2 if 0xA1 <= data[0] <= 0xA4 else 1  # ERR_NOCMD / ERR_OUTOFGROUP

    def _status(self) -> bytes:
        """§8.4: on/off, brightness, clock (BCD), programmes, current file, special area,
        pages, dynamic areas and their ids, barcode, custom id."""
        on_off = 0x01 if self.powered else 0x02
        clock = bytes.fromhex("2620050105083000")  # 2026-05-01, Friday, 08:30:00
        ids = bytes(sorted(self.areas))
        head = bytes((on_off, self.brightness)) + clock + bytes(7)  # no programmes, no file
        return head + bytes((len(ids),)) + ids + bytes(28)
