"""LCUS CH340 USB relays as pure code: the 4-byte `A0 ch op sum` command frame."""

from __future__ import annotations

from dataclasses import dataclass

HEADER = 0xA0
MAX_CHANNELS = 8  # LCUS-1/2/4/8
FRAME_LENGTH = 4


@dataclass(frozen=True)
class LcusCommand:
    channel: int
    on: bool


def checksum(channel: int, op: int) -> int:
    """The fourth byte: the sum of the first three, modulo 256."""
    return (HEADER + channel + op) & 0xFF


def encode(channel: int, on: bool) -> bytes:
    """The frame that switches `channel` (1..8). The board never answers it."""
    if not 1 <= channel <= MAX_CHANNELS:
        raise ValueError(f"LCUS channel must be 1..{MAX_CHANNELS}, not {channel}")
    op = 0x01 if on else 0x00
    return bytes([HEADER, channel, op, checksum(channel, op)])


def decode(frame: bytes) -> LcusCommand:
    """The command in one frame; ValueError naming what is wrong with it."""
    if len(frame) != FRAME_LENGTH:
        raise ValueError(f"an LCUS frame has {FRAME_LENGTH} bytes, not {len(frame)}")
    header, channel, op, total = frame
    if header != HEADER:
        raise ValueError(f"LCUS frame must start with A0, not {header:02X}")
    if op not in (0x00, 0x01):
        raise ValueError(f"LCUS operation must be 00 or 01, not {op:02X}")
    if total != checksum(channel, op):
        raise ValueError(f"LCUS checksum {total:02X} != {checksum(channel, op):02X}")
    if not 1 <= channel <= MAX_CHANNELS:
        raise ValueError(f"LCUS channel must be 1..{MAX_CHANNELS}, not {channel}")
    return LcusCommand(channel, op == 0x01)
