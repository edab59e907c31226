"""Value types the config accepts: durations (`30m`, `90s`, `1h30m`, seconds) and times of day."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")
_TIME = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")


def parse_duration(value: Any) -> float:
    """Seconds from `30m`, `90s`, `1h30m`, `2.5s` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use 30m, 90s, 1h30m or seconds)")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        match = _DURATION.match(text)
        if text and re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif text and match:
            seconds = (
                int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + float(match["s"] or 0)
            )
        else:
            raise ValueError(f"{value!r} is not a duration (use 30m, 90s, 1h30m or seconds)")
    else:
        raise ValueError(f"{value!r} is not a duration (use 30m, 90s, 1h30m or seconds)")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; a duration must be zero or more")
    return seconds


def parse_time_of_day(value: Any) -> time:
    """A wall-clock time from `HH:MM` or `HH:MM:SS`; YAML 1.1 integers (720) are refused."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a time of day (use HH:MM or HH:MM:SS)")
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
