"""Config value types: durations (`30m`, `90s`, `1h30m`, seconds), times of day, file paths."""

from __future__ import annotations

import math
import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")
_TIME = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")
# No duration in a station's config comes near a week; past it, arithmetic on instants would
# overflow (datetime + 1e12 s) long before anything aired. Fields set their own, closer bounds.
DURATION_MAX_S = 7 * 86_400
# Linux's PATH_MAX and NAME_MAX, in bytes: longer paths fail every file operation.
PATH_MAX_BYTES, NAME_MAX_BYTES = 4095, 255


def parse_duration(value: Any) -> float:
    """Seconds from `30m`, `90s`, `1h30m`, `2.5s` or a plain number of seconds."""
    try:
        seconds = _seconds(value)
    except OverflowError:  # a 400-digit number: float() cannot hold it
        seconds = math.inf
    if not math.isfinite(seconds):
        raise ValueError(
            f"{short_repr(value)} 不是有限的时长 / {short_repr(value)} is not a finite duration"
        )
    if seconds < 0:
        shown = short_repr(value)
        raise ValueError(f"{shown} 为负数 / {shown} is negative; a duration must be zero or more")
    if seconds > DURATION_MAX_S:
        raise ValueError(
            f"{seconds:g} 秒超过一周 / {seconds:g} s is more than a week; no duration is that long"
        )
    return seconds


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use 30m, 90s, 1h30m or seconds)")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and len(value) <= 40:  # longer is no duration, only work for int()
        text = value.strip().replace(" ", "")
        match = _DURATION.match(text)
        if text and re.fullmatch(r"\d+(?:\.\d+)?", text):
            return float(text)
        if text and match:
            return int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + float(match["s"] or 0)
    raise ValueError(f"{short_repr(value)} is not a duration (use 30m, 90s, 1h30m or seconds)")


def short_repr(value: Any) -> str:
    # repr() of a 5,000-digit int raises ValueError (Python's int/str limit), so cap first.
    if isinstance(value, int) and value.bit_length() > 64:
        digits = int(value.bit_length() * math.log10(2)) + 1  # exact, or one too many
        return f"a {digits}-digit {'negative ' if value < 0 else ''}number"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_time_of_day(value: Any) -> time:
    """A wall-clock time from `HH:MM` or `HH:MM:SS`; YAML 1.1 integers (720) are refused."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{short_repr(value)} is not a time of day (use HH:MM or HH:MM:SS)")
    match = _TIME.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a time of day (use HH:MM or HH:MM:SS)")
    h, m, s = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if h > 23 or m > 59 or s > 59:
        raise ValueError(f"{value!r} is not a time of day")
    return time(h, m, s)


Duration = Annotated[float, BeforeValidator(parse_duration)]
TimeOfDay = Annotated[
    time,
    BeforeValidator(parse_time_of_day),
    PlainSerializer(lambda t: t.strftime("%H:%M:%S"), return_type=str),
]


def check_path(value: Path) -> Path:
    """A path the file system can take: no NUL, not longer than Linux allows."""
    text = str(value)
    try:
        encoded = os.fsencode(text)
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{short_repr(text)} 不是可用的路径 / {short_repr(text)} is not a usable path"
        ) from exc
    if b"\0" in encoded:
        raise ValueError("路径含 NUL 字符 / the path contains a NUL character")
    if len(encoded) > PATH_MAX_BYTES:
        raise ValueError(
            f"路径过长（超过 {PATH_MAX_BYTES} 字节）"
            f" / the path is longer than {PATH_MAX_BYTES} bytes"
        )
    if any(len(part) > NAME_MAX_BYTES for part in encoded.split(b"/")):
        raise ValueError(
            f"路径中有超过 {NAME_MAX_BYTES} 字节的名称 / a name in the path is longer than"
            f" {NAME_MAX_BYTES} bytes"
        )
    return value


FsPath = Annotated[Path, AfterValidator(check_path)]
