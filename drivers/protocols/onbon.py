"""Reading Onbon BX-5K/6K frames: the h11-style streaming decoder and the events it gives.

Replies (§5.1.2): ACK A0 00, NACK A0 01 with CmdError (§6, `ERRORS`), the status report A1 02
(§8.4), anything else as a generic Reply. Requests can be read back too (`parse_request`,
`parse_dynamic_area`) for golden tests; the product only sends them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal

from drivers.protocols.onbon_cmd import (
    AREA_HEAD,
    AREA_TEXT,
    DELETE_ALL,
    DYNAMIC_AREA,
    PIXEL_UNITS,
    REPLY_WANTED,
    STATUS,
    DynamicArea,
    Effect,
    RunMode,
)
from drivers.protocols.onbon_frame import CorruptFrame, FrameDecoder

ACK = (0xA0, 0x00)
NACK = (0xA0, 0x01)

# CmdError (§6): name, Chinese, English.
ERRORS: dict[int, tuple[str, str, str]] = {
    0: ("ERR_NO", "无错误", "no error"),
    1: ("ERR_OUTOFGROUP", "命令组错误", "command group error"),
    2: ("ERR_NOCMD", "命令不存在", "command not found"),
    3: ("ERR_BUSY", "控制器忙", "the controller is busy"),
    4: ("ERR_MEMORYVOLUME", "存储空间不足", "out of memory volume"),
    5: ("ERR_CHECKSUM", "CRC16 校验错误", "CRC16 checksum error"),
    6: ("ERR_FILENOTEXIST", "文件不存在", "file does not exist"),
    7: ("ERR_FLASH", "Flash 访问错误", "flash access error"),
    8: ("ERR_FILE_DOWNLOAD", "文件下载错误", "file download error"),
    9: ("ERR_FILE_NAME", "文件名错误", "file name error"),
    10: ("ERR_FILE_TYPE", "文件类型错误", "file type error"),
    11: ("ERR_FILE_CRC16", "文件 CRC16 错误", "file CRC16 error"),
    12: ("ERR_FONT_NOT_EXIST", "字库不存在", "font library does not exist"),
    13: ("ERR_FIRMWARE_TYPE", "固件类型错误（请检查控制卡型号）", "firmware type error (model?)"),
    14: ("ERR_DATE_TIME_FORMAT", "日期时间格式错误", "date/time format error"),
    15: ("ERR_FILE_EXIST", "文件已存在", "file exists"),
    16: ("ERR_FILE_BLOCK_NUM", "文件块号错误", "file block number error"),
}


def error_info(code: int) -> tuple[str, str, str]:
    """(name, Chinese, English) of a CmdError; unknown codes are said to be unknown."""
    return ERRORS.get(code, ("ERR_UNKNOWN", "未知错误", "unknown error"))


@dataclass(frozen=True)
class Ack:
    """The card took the command."""


@dataclass(frozen=True)
class Nack:
    """The card refused the command; `code` is its CmdError (§6)."""

    code: int

    @property
    def name(self) -> str:
        return error_info(self.code)[0]

    @property
    def meaning(self) -> str:
        """'CRC16 校验错误 / CRC16 checksum error'."""
        _name, zh, en = error_info(self.code)
        return f"{zh} / {en}"


@dataclass(frozen=True)
class StatusReport:
    """The answer to A1 02 (§8.4); `rest` keeps the model-dependent tail (areas, barcode)."""

    powered: bool
    brightness: int
    clock: datetime | None  # None when the card's BCD clock is not a valid time
    programs: int
    current_program: str
    rest: bytes


@dataclass(frozen=True)
class Reply:
    """Any other reply: command, CmdError, data."""

    group: int
    cmd: int
    error: int
    data: bytes


ReplyEvent = Ack | Nack | StatusReport | Reply


def _bcd(byte: int) -> int:
    return (byte >> 4) * 10 + (byte & 0x0F)


def _clock(raw: bytes) -> datetime | None:
    # year (2, LSB first: 0x2011 → 11 20), month, day, weekday, hour, minute, second
    year = _bcd(raw[1]) * 100 + _bcd(raw[0])
    month, day, _week, hour, minute, second = (_bcd(b) for b in raw[2:8])
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def parse_reply(data: bytes) -> ReplyEvent:
    """The event for one reply data field; ValueError if it is shorter than its fixed part."""
    if len(data) < 5:
        raise ValueError(f"reply too short ({len(data)} bytes)")
    group, cmd, error = data[0], data[1], data[2]
    if (group, cmd) == ACK:
        return Ack()
    if (group, cmd) == NACK:
        return Nack(error)
    if (group, cmd) == STATUS and error == 0:
        payload = data[5:]
        if len(payload) < 15:
            raise ValueError(f"status reply too short ({len(data)} bytes)")
        return StatusReport(
            powered=payload[0] == 0x01,
            brightness=payload[1],
            clock=_clock(payload[2:10]),
            programs=payload[10],
            current_program=payload[11:15].decode("ascii", errors="replace"),
            rest=bytes(payload[15:]),
        )
    return Reply(group, cmd, error, bytes(data[5:]))


class _Need(Enum):
    NEED_DATA = "need data"


NEED_DATA = _Need.NEED_DATA
DecoderEvent = ReplyEvent | CorruptFrame | Literal[_Need.NEED_DATA]


class OnbonDecoder:
    """h11-style reply decoder: `feed(bytes)`, then `next_event()` until it says NEED_DATA.

    Split input waits for the rest; garbage between frames is skipped (`discarded` counts it);
    a damaged frame comes out as a CorruptFrame and decoding carries on.
    """

    def __init__(self) -> None:
        self._frames = FrameDecoder()

    @property
    def discarded(self) -> int:
        return self._frames.discarded

    def feed(self, data: bytes) -> None:
        self._frames.feed(data)

    def next_event(self) -> DecoderEvent:
        frame = self._frames.next_frame()
        if frame is None:
            return NEED_DATA
        if isinstance(frame, CorruptFrame):
            return frame
        try:
            return parse_reply(frame.data)
        except ValueError as exc:
            return CorruptFrame(str(exc), frame.data)


# --- requests read back ---------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A request data field read back (tests, doubles): which command, whether a reply is due."""

    group: int
    cmd: int
    reply: bool
    body: bytes


def parse_request(data: bytes) -> Request:
    if len(data) < 5:
        raise ValueError(f"request too short ({len(data)} bytes)")
    return Request(data[0], data[1], data[2] == REPLY_WANTED, bytes(data[5:]))


@dataclass(frozen=True)
class DynamicAreaUpdate:
    """An A3 06 request read back."""

    areas: tuple[DynamicArea, ...]
    delete: tuple[int, ...]
    delete_all: bool
    reinit: bool


def _area(raw: bytes) -> DynamicArea:
    _t, x, y, w, h, area_id, spacing, run, timeout, sound, _e = AREA_HEAD.unpack_from(raw)
    at = AREA_HEAD.size - 1
    if sound:  # person/volume/speed, and with mode 2 a length-prefixed sound text
        at += 3
        if sound == 2:
            at += 4 + int.from_bytes(raw[at : at + 4], "little")
    at += 1 + raw[at]  # ExtendParaLen and the extension bytes
    align, single, newline, effect, exit_mode, speed, stay, length = AREA_TEXT.unpack_from(raw, at)
    data = raw[at + AREA_TEXT.size :]
    if len(data) != length:
        raise ValueError(f"area DataLen {length} but {len(data)} bytes")
    return DynamicArea(
        data=data,
        width=w & ~PIXEL_UNITS,
        height=h,
        x=x & ~PIXEL_UNITS,
        y=y,
        area_id=area_id,
        line_spacing=spacing,
        run_mode=RunMode(run),
        timeout_s=timeout,
        alignment=align,
        single_line=single == 0x01,
        auto_wrap=newline == 0x02,
        effect=Effect(effect),
        exit_mode=exit_mode,
        speed=speed,
        stay_s=stay / 2,
    )


def parse_dynamic_area(data: bytes) -> DynamicAreaUpdate:
    """The inverse of `dynamic_area` (whole data field); ValueError on a malformed one."""
    try:
        if tuple(data[:2]) != DYNAMIC_AREA:
            raise ValueError(f"not A3 06 but {data[:2].hex(' ')}")
        reinit, count = data[3] == 0x01, data[5]
        delete_all = count == DELETE_ALL
        at = 6 if delete_all else 6 + count
        delete = () if delete_all else tuple(data[6:at])
        areas = []
        for _ in range(data[at]):
            (length,) = struct.unpack_from("<H", data, at + 1)
            raw = data[at + 3 : at + 3 + length]
            if len(raw) != length:
                raise ValueError(f"AreaDataLen {length} but {len(raw)} bytes")
            areas.append(_area(raw))
            at += 2 + length
        if at + 1 != len(data):
            raise ValueError(f"{len(data) - at - 1} bytes after the last area")
    except (IndexError, struct.error) as exc:
        raise ValueError(f"truncated dynamic area: {exc}") from exc
    return DynamicAreaUpdate(tuple(areas), delete, delete_all, reinit)
