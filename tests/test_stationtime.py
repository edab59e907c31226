"""Station time and the stored form of instants: pure tables, host in UTC, station in
Asia/Shanghai, and Europe/Berlin for the two clock-change nights of 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from controller.core import stationtime
from controller.core.instants import from_stored, to_stored

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


pytestmark = pytest.mark.usefixtures("host_in_utc")  # conftest: the host runs in UTC


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def test_a_naive_time_is_station_time_and_an_aware_one_is_kept() -> None:
    assert stationtime.aware(datetime(2026, 12, 2, 7, 40), SH) == utc(2026, 12, 1, 23, 40)
    kept = datetime(2026, 12, 2, 7, 40, tzinfo=UTC)
    assert stationtime.aware(kept, SH) is kept


@pytest.mark.parametrize(
    ("tz", "day", "begin", "hours"),
    [
        (SH, date(2026, 12, 2), utc(2026, 12, 1, 16), 24),
        (BERLIN, date(2026, 3, 28), utc(2026, 3, 27, 23), 24),
        (BERLIN, date(2026, 3, 29), utc(2026, 3, 28, 23), 23),  # 02:00 → 03:00
        (BERLIN, date(2026, 3, 30), utc(2026, 3, 29, 22), 24),
        (BERLIN, date(2026, 10, 25), utc(2026, 10, 24, 22), 25),  # 03:00 → 02:00
        (BERLIN, date(2026, 10, 26), utc(2026, 10, 25, 23), 24),
    ],
)
def test_a_station_day_is_the_instants_between_two_local_midnights(
    tz: ZoneInfo, day: date, begin: datetime, hours: int
) -> None:
    start, end = stationtime.day(day, tz)
    assert (start, end - start) == (begin, timedelta(hours=hours))
    assert start.utcoffset() == timedelta(0)  # UTC instants: comparing never depends on offsets


def test_a_run_of_days_and_a_month() -> None:
    assert stationtime.days(date(2026, 12, 1), date(2026, 12, 2), SH) == (
        utc(2026, 11, 30, 16), utc(2026, 12, 2, 16),
    )  # fmt: skip
    march = stationtime.month(2026, 3, BERLIN)
    assert march == (utc(2026, 2, 28, 23), utc(2026, 3, 31, 22))
    assert march[1] - march[0] == timedelta(days=31, hours=-1)
    december = stationtime.month(2026, 12, SH)
    assert december == (utc(2026, 11, 30, 16), utc(2026, 12, 31, 16))


@pytest.mark.parametrize(
    ("moment", "tz", "day"),
    [
        (utc(2026, 12, 1, 23, 40, 56), SH, date(2026, 12, 2)),  # 07:40 station time
        (utc(2026, 12, 1, 15, 59, 59), SH, date(2026, 12, 1)),
        (utc(2026, 3, 28, 23, 30), BERLIN, date(2026, 3, 29)),  # 00:30 CET
        (utc(2026, 3, 29, 21, 59), BERLIN, date(2026, 3, 29)),  # 23:59 CEST
        (utc(2026, 10, 25, 0, 30), BERLIN, date(2026, 10, 25)),  # 02:30 CEST, the first
        (utc(2026, 10, 25, 1, 30), BERLIN, date(2026, 10, 25)),  # 02:30 CET, the second
        (utc(2026, 10, 25, 22, 59), BERLIN, date(2026, 10, 25)),  # 23:59 CET
    ],
)
def test_the_local_day_of_an_instant(moment: datetime, tz: ZoneInfo, day: date) -> None:
    assert stationtime.local_day(moment, tz) == day
    start, end = stationtime.day(day, tz)
    assert start <= moment < end


def test_times_for_people_are_on_the_stations_clock() -> None:
    drill = utc(2026, 12, 1, 23, 40, 56, 123456)
    assert stationtime.iso(drill, SH) == "2026-12-02T07:40:56.123+08:00"
    assert stationtime.iso(utc(2026, 12, 1, 23), SH) == "2026-12-02T07:00:00+08:00"
    assert stationtime.iso(utc(2026, 12, 1, 23), SH, "milliseconds") == (
        "2026-12-02T07:00:00.000+08:00"
    )
    assert stationtime.iso_or_none(None, SH) is None
    assert stationtime.for_people(drill, SH) == "2026-12-02 07:40:56"
    assert stationtime.for_people(drill, SH, "%H:%M:%S.%f") == "07:40:56.123"
    assert stationtime.for_people(None, SH) == ""
    assert stationtime.file_stamp(drill, SH) == "20261202-074056"
    # Berlin's repeated hour: the offset tells the two 02:30s apart.
    first, second = utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)
    assert stationtime.iso(first, BERLIN) == "2026-10-25T02:30:00+02:00"
    assert stationtime.iso(second, BERLIN) == "2026-10-25T02:30:00+01:00"


def test_the_stored_form_is_utc_fixed_width_and_exact() -> None:
    drill = datetime(2026, 12, 2, 7, 40, 56, 123000, tzinfo=SH)
    assert to_stored(drill) == "2026-12-01T23:40:56.123000Z"
    assert to_stored("2026-12-02T07:40:56.123+08:00") == "2026-12-01T23:40:56.123000Z"
    assert to_stored(utc(2026, 12, 1)) == "2026-12-01T00:00:00.000000Z"
    moments = [utc(2026, 12, 1, 23, 40, 56, 1), utc(2026, 12, 2), drill, utc(2000, 1, 1)]
    texts = [to_stored(m) for m in moments]
    assert {len(t) for t in texts} == {27}
    assert sorted(texts) == [to_stored(m) for m in sorted(moments)]  # text order is time order
    assert [from_stored(t) for t in texts] == moments
    assert all(from_stored(t).utcoffset() == timedelta(0) for t in texts)
    with pytest.raises(ValueError, match="offset"):
        to_stored(datetime(2026, 12, 2, 7, 40))


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-02T07:40:56.123000+08:00",  # a slot's time as today's release wrote it
        "2026-12-01T23:40:56.123+00:00",  # an override's
        "2026-12-01T18:40:56.123-05:00",
        "2026-12-01T23:40:56.123000Z",
    ],
)
def test_any_earlier_text_reads_as_the_same_instant(text: str) -> None:
    assert from_stored(text) == utc(2026, 12, 1, 23, 40, 56, 123000)
    assert from_stored(text).tzinfo is UTC


def test_a_fixed_offset_zone_works_too() -> None:
    east8 = timezone(timedelta(hours=8))
    assert stationtime.day(date(2026, 12, 2), east8)[0] == utc(2026, 12, 1, 16)
