"""Onbon BX-5K/6K requests as pure code: ping, status, force on/off, clear, dynamic area text.

Protocol document "BX-5K/6K通讯协议用户版本" v1.4: request layout (§5.1.1), PING A2 00 (§8.7),
status A1 02 (§8.4), force on/off A3 00 (§8.13), clear screen A3 10 (§8.16), real-time dynamic
area A3 06 (§8.2.1) with its area format (§9.1) and the text escapes (§11). Multi-byte fields
are little-endian.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

REPLY_WANTED, NO_REPLY = 0x01, 0x02
PING = (0xA2, 0x00)
STATUS = (0xA1, 0x02)
FORCE_POWER = (0xA3, 0x00)
DYNAMIC_AREA = (0xA3, 0x06)
CLEAR_SCREEN = (0xA3, 0x10)

COLORS = {"red": 1, "green": 2, "yellow": 3, "blue": 4, "cyan": 5, "magenta": 6, "white": 7}
FONTS = {16: 0, 24: 1, 32: 2}  # font height → number of the card's built-in O00n/E00n fonts
PIXEL_UNITS = 0x8000  # X and width: high bit set = pixels, else 8-pixel bytes (§9.1)
DELETE_ALL = 0xFF


def request(group: int, cmd: int, body: bytes = b"", *, reply: bool = True) -> bytes:
    """A request data field: CmdGroup, Cmd, Response (01 reply / 02 none), 2 reserved, body."""
    return bytes((group, cmd, REPLY_WANTED if reply else NO_REPLY, 0, 0)) + body


def ping() -> bytes:
    return request(*PING)


def status_query() -> bytes:
    return request(*STATUS)


def force_power(on: bool) -> bytes:
    """Screen on (01) or off (02); overrides timed on/off until the next timed switch."""
    return request(*FORCE_POWER, bytes((0x01 if on else 0x02,)))


def clear_screen() -> bytes:
    return request(*CLEAR_SCREEN)


# --- the dynamic area ------------------------------------------------------------------------


class RunMode(IntEnum):
    LOOP = 0
    STOP_AT_END = 1
    EXPIRE = 2  # loop, and delete the area when not updated within its timeout (a watchdog)


class Effect(IntEnum):
    STATIC = 1
    QUICK_TYPE = 2
    SCROLL_LEFT = 3
    SCROLL_RIGHT = 4
    SCROLL_UP = 5
    SCROLL_DOWN = 6


@dataclass(frozen=True)
class DynamicArea:
    """One text area of A3 06. `data` is the Data field: GB2312 text with the card's escapes."""

    data: bytes
    width: int
    height: int
    x: int = 0
    y: int = 0
    area_id: int = 0
    line_spacing: int = 0
    run_mode: RunMode = RunMode.EXPIRE
    timeout_s: int = 10  # RunMode.EXPIRE: seconds without an update before the area goes
    alignment: int = 0  # bits 1-0: 0 left, 1 right, 2 centre; bits 3-2: 0 top, 1 bottom, 2 centre
    single_line: bool = False
    auto_wrap: bool = True
    effect: Effect = Effect.STATIC
    exit_mode: int = 0
    speed: int = 2  # 0 fastest .. 0x18 slowest
    stay_s: float = 5.0  # sent in units of 0.5 s (§9.1; the §5.1.1 example table says "10秒")


AREA_HEAD = struct.Struct("<BHHHHBBBHBB")  # type, X, Y, W, H, id, spacing, run, timeout, sound, ext
AREA_TEXT = struct.Struct("<BBBBBBBI")  # align, single, newline, mode, exit, speed, stay, len


def _check(name: str, value: int, high: int) -> int:
    if not 0 <= value <= high:
        raise ValueError(f"dynamic area {name} {value} is outside 0..{high}")
    return value


def area_bytes(area: DynamicArea) -> bytes:
    """The AreaData of one area (§9.1), always in pixel units, without sound or extensions."""
    head = AREA_HEAD.pack(
        0x00,  # AreaType
        _check("x", area.x, 0x7FFF) | PIXEL_UNITS,
        _check("y", area.y, 0xFFFF),
        _check("width", area.width, 0x7FFF) | PIXEL_UNITS,
        _check("height", area.height, 0xFFFF),
        _check("id", area.area_id, 0xFE),
        _check("line spacing", area.line_spacing, 0xFF),
        area.run_mode,
        _check("timeout", area.timeout_s, 0xFFFF),
        0x00,  # SoundMode: no voice
        0x00,  # ExtendParaLen
    )
    text = AREA_TEXT.pack(
        _check("alignment", area.alignment, 0x0F),
        0x01 if area.single_line else 0x02,
        0x02 if area.auto_wrap else 0x01,
        area.effect,
        _check("exit mode", area.exit_mode, 0xFF),
        _check("speed", area.speed, 0x18),
        _check("stay time", round(area.stay_s * 2), 0xFF),
        len(area.data),
    )
    return head + text + area.data


def dynamic_area(
    areas: Sequence[DynamicArea],
    *,
    delete: Sequence[int] = (),
    delete_all: bool = False,
    reinit: bool = False,
) -> bytes:
    """A3 06: update `areas` (and first delete some or all areas) in the card's RAM."""
    if delete_all:
        deletions = bytes((DELETE_ALL,))
    else:
        deletions = bytes((len(delete), *(_check("id", i, 0xFE) for i in delete)))
    body = bytearray((*DYNAMIC_AREA, REPLY_WANTED, 0x01 if reinit else 0x00, 0x00))
    body += deletions + bytes((len(areas),))
    for area in areas:
        data = area_bytes(area)
        body += struct.pack("<H", len(data)) + data
    return bytes(body)


# --- text ------------------------------------------------------------------------------------

_CONTROLS = {c: " " for c in range(0x20) if c != 0x0A} | {0x7F: " "}


def encode_checked(text: str, charset: str = "gb2312") -> bytes:
    """`text` in `charset`; ValueError naming the first character outside it. Every display
    driver checks its charset with this, so the operator reads the same message for all."""
    try:
        return text.encode(charset)
    except UnicodeEncodeError as exc:
        bad, name = text[exc.start], charset.upper()
        raise ValueError(
            f"字符 {bad!r}（U+{ord(bad):04X}，第 {exc.start + 1} 个字）不在 {name} 字符集内，"
            f"屏幕无法显示 / character {bad!r} (U+{ord(bad):04X}) at position {exc.start + 1} "
            f"is not in {name}: the screen cannot show it"
        ) from None


def encode_text(text: str, *, font_px: int | None = None, color: str | None = None) -> bytes:
    """The Data of a text area: GB2312 with the card's escapes (§11.1).

    With `font_px`, the card's Chinese font (\\FO00n) is selected before double-byte text and
    its English font (\\FE00n) before ASCII; `color` adds \\Cn after the first font. A newline
    becomes the card's \\n. An ASCII backslash would start an escape, so it is shown full-width.
    Without font, colour or newline the text is sent bare (the document's examples).
    """
    text = text.replace("\r\n", "\n").translate(_CONTROLS).replace("\\", "＼")
    bare = encode_checked(text)
    if font_px is None and color is None and "\n" not in text:
        return bare
    if font_px is not None and font_px not in FONTS:
        raise ValueError(f"font size {font_px} px: the card has {sorted(FONTS)} px fonts")
    if color is not None and color not in COLORS:
        raise ValueError(f"colour {color!r}: the card has {', '.join(COLORS)}")
    wide = narrow = b""
    if font_px is not None:
        wide, narrow = b"\\FO%03d" % FONTS[font_px], b"\\FE%03d" % FONTS[font_px]
    out = bytearray(wide)
    if color is not None:
        out += b"\\C%d" % COLORS[color]
    current = wide
    for char in text:
        if char == "\n":
            out += b"\\n"
            continue
        font = narrow if ord(char) < 0x80 else wide
        if font != current:
            out += font
            current = font
        out += char.encode("gb2312")
    return bytes(out)
