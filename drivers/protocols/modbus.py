"""Modbus RTU as pure code: CRC-16, request frames, a reply parser that survives noise, timings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

READ_COILS = 0x01
READ_HOLDING_REGISTERS = 0x03
WRITE_SINGLE_COIL = 0x05
WRITE_SINGLE_REGISTER = 0x06
WRITE_MULTIPLE_COILS = 0x0F

COIL_ON = 0xFF00
COIL_OFF = 0x0000

EXCEPTION_NAMES = {
    0x01: "ILLEGAL FUNCTION",
    0x02: "ILLEGAL DATA ADDRESS",
    0x03: "ILLEGAL DATA VALUE",
    0x04: "SERVER DEVICE FAILURE",
    0x05: "ACKNOWLEDGE",
    0x06: "SERVER DEVICE BUSY",
    0x08: "MEMORY PARITY ERROR",
    0x0A: "GATEWAY PATH UNAVAILABLE",
    0x0B: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body: bytes) -> bytes:
    """`body` followed by its CRC, low byte first as RTU sends it."""
    return body + crc16(body).to_bytes(2, "little")


def crc_ok(frame: bytes) -> bool:
    return len(frame) >= 4 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "little")


def char_time_s(baudrate: int, bits: int = 10) -> float:
    """Time one character takes on the line (8N1 = 10 bits; the spec counts 11)."""
    return bits / baudrate


def silent_interval_s(baudrate: int, bits: int = 11) -> float:
    """t3.5, the gap that ends a frame: 3.5 characters, fixed at 1.75 ms above 19200 baud."""
    return 0.00175 if baudrate > 19200 else 3.5 * char_time_s(baudrate, bits)


def line_time_s(frame_bytes: int, baudrate: int, bits: int = 10) -> float:
    """Time `frame_bytes` bytes take on the wire, without gaps."""
    return frame_bytes * char_time_s(baudrate, bits)


# --- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request frame and what its reply must look like (`value`: written value or count)."""

    frame: bytes
    unit: int
    function: int
    address: int
    value: int
    reply_length: int

    def echoed_by(self, event: object) -> bool:
        """Whether `event` is this write's normal reply (FC05/06 echo; FC0F address + count)."""
        return (
            isinstance(event, WriteReply)
            and (event.unit, event.function) == (self.unit, self.function)
            and (event.address, event.value) == (self.address, self.value)
        )


def _check(unit: int, address: int, value: int) -> None:
    if not 0 <= unit <= 247:
        raise ValueError(f"Modbus unit must be 0..247, not {unit}")
    if not 0 <= address <= 0xFFFF or not 0 <= value <= 0xFFFF:
        raise ValueError(f"address {address} and value {value} must fit 16 bits")


def _simple(unit: int, function: int, address: int, value: int, reply_length: int) -> Request:
    _check(unit, address, value)
    body = bytes([unit, function]) + address.to_bytes(2, "big") + value.to_bytes(2, "big")
    return Request(with_crc(body), unit, function, address, value, reply_length)


def read_coils(unit: int, address: int, count: int) -> Request:
    if not 1 <= count <= 2000:
        raise ValueError(f"coil count must be 1..2000, not {count}")
    return _simple(unit, READ_COILS, address, count, 5 + (count + 7) // 8)


def read_registers(unit: int, address: int, count: int) -> Request:
    if not 1 <= count <= 125:
        raise ValueError(f"register count must be 1..125, not {count}")
    return _simple(unit, READ_HOLDING_REGISTERS, address, count, 5 + 2 * count)


def write_coil(unit: int, address: int, value: int) -> Request:
    """FC05 with a raw 16-bit value: FF00/0000 for standard coils, vendor values otherwise."""
    return _simple(unit, WRITE_SINGLE_COIL, address, value, 8)


def write_register(unit: int, address: int, value: int) -> Request:
    return _simple(unit, WRITE_SINGLE_REGISTER, address, value, 8)


def write_coils(unit: int, address: int, bits: Sequence[bool]) -> Request:
    """FC0F: `bits[0]` goes to `address`, packed least significant bit first."""
    if not 1 <= len(bits) <= 1968:
        raise ValueError(f"coil count must be 1..1968, not {len(bits)}")
    _check(unit, address, len(bits))
    packed = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            packed[i // 8] |= 1 << (i % 8)
    body = (
        bytes([unit, WRITE_MULTIPLE_COILS])
        + address.to_bytes(2, "big")
        + len(bits).to_bytes(2, "big")
        + bytes([len(packed)])
        + bytes(packed)
    )
    return Request(with_crc(body), unit, WRITE_MULTIPLE_COILS, address, len(bits), 8)


# --- replies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoilValues:
    """FC01 reply: the requested coils, padding bits dropped."""

    unit: int
    bits: tuple[bool, ...]


@dataclass(frozen=True)
class RegisterValues:
    """FC03 reply."""

    unit: int
    values: tuple[int, ...]


@dataclass(frozen=True)
class WriteReply:
    """FC05/06 echo (`value` = the data written) or FC0F reply (`value` = coil count)."""

    unit: int
    function: int
    address: int
    value: int


@dataclass(frozen=True)
class ExceptionReply:
    """The device refused the request: function | 0x80 and an exception code."""

    unit: int
    function: int
    code: int

    @property
    def name(self) -> str:
        return EXCEPTION_NAMES.get(self.code, f"UNKNOWN EXCEPTION 0x{self.code:02X}")


ReplyEvent = CoilValues | RegisterValues | WriteReply | ExceptionReply


class ReplyParser:
    """Frames the reply to one request out of whatever the line delivers.

    RTU has no start marker, so frames are found by length: the parser knows the unit, function
    and reply length it waits for, and skips any byte that does not begin a frame with a valid
    CRC (line noise, a late reply to an earlier request, echoes of other units on the bus).
    """

    def __init__(self, request: Request) -> None:
        self._request = request
        self._buffer = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_event(self) -> ReplyEvent | None:
        """The reply once complete and valid, else None (feed more)."""
        buf, req = self._buffer, self._request
        while buf:
            if len(buf) < 2 or (buf[0], buf[1] & 0x7F) != (req.unit, req.function):
                if len(buf) < 2 and buf[0] == req.unit:
                    return None
                self._skip(1)
                continue
            exception = bool(buf[1] & 0x80)
            length = 5 if exception else req.reply_length
            if not exception and req.function in (READ_COILS, READ_HOLDING_REGISTERS):
                if len(buf) < 3:
                    return None
                if buf[2] != req.reply_length - 5:
                    self._skip(1)
                    continue
            if len(buf) < length:
                return None
            frame = bytes(buf[:length])
            if not crc_ok(frame):
                self._skip(1)
                continue
            del buf[:length]
            return self._decode(frame, exception)
        return None

    def _skip(self, count: int) -> None:
        del self._buffer[:count]
        self.discarded += count

    def _decode(self, frame: bytes, exception: bool) -> ReplyEvent:
        req = self._request
        if exception:
            return ExceptionReply(req.unit, req.function, frame[2])
        data = frame[3:-2]
        if req.function == READ_COILS:
            bits = tuple(bool(data[i // 8] >> (i % 8) & 1) for i in range(req.value))
            return CoilValues(req.unit, bits)
        if req.function == READ_HOLDING_REGISTERS:
            values = tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
            return RegisterValues(req.unit, values)
        address = int.from_bytes(frame[2:4], "big")
        return WriteReply(req.unit, req.function, address, int.from_bytes(frame[4:6], "big"))
