"""Onbon BX-5K/6K framing as pure code: A5 preamble, 14-byte header, escaping, CRC-16, 5A end.

Protocol document "BX-5K/6K通讯协议用户版本" v1.4, §3 (PHY0: preamble, escaping, end byte) and
§4 (PHY1: header and checksum). A frame on the wire is

    A5 ×8 | escape(header(14) + data(N) + CRC16(2, little-endian)) | 5A

with the CRC and every length computed on the unescaped bytes. The receiver treats any run of
A5 as the preamble (the document's own ACK example carries nine).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PREAMBLE_BYTE = 0xA5
END_BYTE = 0x5A
PREAMBLE = bytes([PREAMBLE_BYTE]) * 8
HEADER_LEN = 14
CRC_LEN = 2
PROTOCOL_VERSION = 0x02
PC_ADDRESS = 0x8000  # the host software's source address (0x8000..0xDFFF are PC clients)
BROADCAST_NO_REPLY = 0xFFFF
BROADCAST_WITH_REPLY = 0xFFFE
DEVICE_WILDCARD = 0xFE  # DeviceType any model; the document's own examples use it
CHECK_CRC16, CHECK_SUM, CHECK_NONE = 0, 1, 2
MAX_ESCAPED_BODY = 4096  # the card's receive buffer is 1024 bytes of data; this is ample

_HEADER = struct.Struct("<HH3sBBBBBH")
_BARCODE_LEN = 16  # follows the BarCode option byte when its bit 0 is set (set-IP command only)
_ESCAPES = {0xA5: b"\xa6\x02", 0xA6: b"\xa6\x01", 0x5A: b"\x5b\x02", 0x5B: b"\x5b\x01"}
_UNESCAPES = {(0xA6, 0x02): 0xA5, (0xA6, 0x01): 0xA6, (0x5B, 0x02): 0x5A, (0x5B, 0x01): 0x5B}


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/ARC (x^16 + x^15 + x^2 + 1, reflected, init 0), as in the document's appendix."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def escape(data: bytes) -> bytes:
    """A5 → A6 02, A6 → A6 01, 5A → 5B 02, 5B → 5B 01 (§3.3)."""
    out = bytearray()
    for byte in data:
        out += _ESCAPES.get(byte, bytes((byte,)))
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """The inverse of `escape`; ValueError on an escape byte not followed by 01 or 02."""
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte in (0xA6, 0x5B):
            pair = (byte, data[i + 1]) if i + 1 < len(data) else (byte, -1)
            if pair not in _UNESCAPES:
                raise ValueError(f"bad escape {bytes(data[i : i + 2]).hex(' ')} at {i}")
            out.append(_UNESCAPES[pair])
            i += 2
        else:
            out.append(byte)
            i += 1
    return bytes(out)


@dataclass(frozen=True)
class Header:
    """The PHY1 header (§4). Addresses are the card's screen address and the PC's source."""

    dst: int
    src: int = PC_ADDRESS
    device_type: int = DEVICE_WILDCARD
    display_mode: int = 0  # 0 normal; 1 dynamic areas take priority over stored programmes
    check_mode: int = CHECK_CRC16
    protocol_version: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class Frame:
    """A frame that passed every check: its header and its data field (request or reply)."""

    header: Header
    data: bytes


@dataclass(frozen=True)
class CorruptFrame:
    """Bytes between a preamble and an end byte that are not a valid frame, and why."""

    reason: str
    raw: bytes


def encode_frame(data: bytes, header: Header) -> bytes:
    """The bytes on the wire for one data field (always CRC-16 checked)."""
    head = _HEADER.pack(
        header.dst,
        header.src,
        b"\x00\x00\x00",
        0,  # no BarCode
        CHECK_CRC16,
        header.display_mode,
        header.device_type,
        header.protocol_version,
        len(data),
    )
    body = head + data
    return PREAMBLE + escape(body + struct.pack("<H", crc16(body))) + bytes((END_BYTE,))


def parse_body(escaped: bytes, raw: bytes) -> Frame | CorruptFrame:
    """Check one escaped body (between preamble and end byte): escaping, length, checksum."""
    try:
        body = unescape(escaped)
    except ValueError as exc:
        return CorruptFrame(str(exc), raw)
    if len(body) < HEADER_LEN + CRC_LEN:
        return CorruptFrame(f"too short ({len(body)} bytes)", raw)
    dst, src, _res, barcode, check, display, device, version, length = _HEADER.unpack_from(body)
    header_len = HEADER_LEN + (_BARCODE_LEN if barcode & 1 else 0)
    if len(body) != header_len + length + CRC_LEN:
        return CorruptFrame(f"DataLen {length} but {len(body) - header_len - 2} bytes", raw)
    covered, sent = body[:-CRC_LEN], int.from_bytes(body[-CRC_LEN:], "little")
    if check == CHECK_CRC16:
        expected = crc16(covered)
    elif check == CHECK_SUM:
        expected = sum(covered) & 0xFFFF
    else:
        expected = sent
    if sent != expected:
        return CorruptFrame(f"checksum {sent:04X}, expected {expected:04X}", raw)
    header = Header(dst, src, device, display, check, version)
    return Frame(header, body[header_len:-CRC_LEN])


class FrameDecoder:
    """Streaming frame decoder: `feed(bytes)`, then `next_frame()` until it returns None.

    Bytes before a preamble are skipped and counted in `discarded`; a frame cut short by a
    new preamble, or one failing its checks, comes out as a CorruptFrame so the caller can
    log it, and decoding goes on with the next frame.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_frame(self) -> Frame | CorruptFrame | None:
        buf = self._buf
        start = buf.find(PREAMBLE_BYTE)
        if start < 0:
            self.discarded += len(buf)
            buf.clear()
            return None
        self.discarded += start
        del buf[:start]
        body = 0
        while body < len(buf) and buf[body] == PREAMBLE_BYTE:
            body += 1
        if body == len(buf):
            del buf[:-1]  # a run of A5 (maybe more to come): one is as good as many
            return None
        end = buf.find(END_BYTE, body)
        restart = buf.find(PREAMBLE_BYTE, body)  # escaped bodies never contain A5
        if restart >= 0 and (end < 0 or restart < end):
            raw = bytes(buf[:restart])
            del buf[:restart]
            return CorruptFrame("cut short by a new preamble", raw)
        if end < 0:
            if len(buf) - body > MAX_ESCAPED_BODY:
                raw = bytes(buf)
                buf.clear()
                return CorruptFrame(f"no end byte within {MAX_ESCAPED_BODY} bytes", raw)
            return None
        raw = bytes(buf[: end + 1])
        del buf[: end + 1]
        return parse_body(raw[body:end], raw)
