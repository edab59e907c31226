"""Station time: the station's zone (config.station.tz), its local days, and times for people.

Stores keep instants in UTC (controller/core/instants.py); the station's zone appears only where a
person meets a time: a naive time typed in (it means station time), a date filter (it means
station-local days), and what is shown (API, CLI, console, CSV, file names). Ranges are
half-open instant ranges [begin, end) in UTC, so a day on a clock-change night is 23 or 25 h
long (zoneinfo knows the zone's rules) and comparing them never depends on an offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

Spec = Literal["auto", "seconds", "milliseconds"]


def aware(moment: datetime, tz: tzinfo) -> datetime:
    """`moment` as an instant: a time with an offset is kept, a naive one is station time.

    A naive time in the hour a spring clock change skips reads with the offset before the
    change (zoneinfo's rule, fold=0); one in the hour an autumn change repeats is its first
    occurrence.
    """
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=tz)


def local(moment: datetime, tz: tzinfo) -> datetime:
    """The same instant on the station's clock."""
    return moment.astimezone(tz)


def local_day(moment: datetime, tz: tzinfo) -> date:
    """The station-local calendar day an instant falls on."""
    return moment.astimezone(tz).date()


def midnight(day: date, tz: tzinfo) -> datetime:
    """The instant (UTC) a station-local day begins."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def days(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[first's 00:00, the day after last's 00:00) in UTC: the run of station days
    first..last, both included."""
    return midnight(first, tz), midnight(last + timedelta(days=1), tz)


def day(which: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instant range of one station-local day."""
    return days(which, which, tz)


def month(year: int, number: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instant range of a station-local calendar month."""
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return midnight(first, tz), midnight(following, tz)


def iso(moment: datetime, tz: tzinfo, timespec: Spec = "auto") -> str:
    """ISO-8601 with the station's offset; `auto`: seconds, or milliseconds when the instant
    has a fraction of a second (enough for people; the stores keep microseconds)."""
    shown = moment.astimezone(tz)
    if timespec == "auto":
        timespec = "milliseconds" if shown.microsecond else "seconds"
    return shown.isoformat(timespec=timespec)


def iso_or_none(moment: datetime | None, tz: tzinfo, timespec: Spec = "auto") -> str | None:
    return None if moment is None else iso(moment, tz, timespec)


def for_people(moment: datetime | None, tz: tzinfo, shape: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A time as the station's clock showed it, for a table or a message ('' for None).
    `%f` in `shape` is milliseconds here, not microseconds."""
    if moment is None:
        return ""
    shown = moment.astimezone(tz)
    return shown.strftime(shape.replace("%f", f"{shown.microsecond // 1000:03d}"))


def file_stamp(moment: datetime, tz: tzinfo) -> str:
    """`20261202-074056`: an instant on the station's clock, for a file name."""
    return moment.astimezone(tz).strftime("%Y%m%d-%H%M%S")
