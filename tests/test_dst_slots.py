"""Slots and blackouts on the two clock-change nights of a station zone with daylight saving
(Europe/Berlin, 2026-03-29 and 2026-10-25), the host in UTC (issue 10 item 6).

A slot that spans a clock change lasts its real length: the planner keeps an airing's
instants in UTC (aware arithmetic in one zone would be wall-clock arithmetic in Python), and
only its id and what people see carry the station's wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_planner import make_config

from controller.planning.planner import Blackout, plan

BERLIN = ZoneInfo("Europe/Berlin")


def real_length(start: datetime, end: datetime) -> timedelta:
    return end.astimezone(UTC) - start.astimezone(UTC)


def slots_on(day: date, start: str, duration: str) -> list[tuple[datetime, datetime]]:
    cfg = make_config(
        [{"name": "夜间", "start": start, "duration": duration, "playlist": "p"}], "Europe/Berlin"
    )
    return [(a.start, a.end) for a in plan(cfg, [], day, 1)]


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_a_morning_slot_on_a_clock_change_day_airs_once_at_its_wall_time(day: date) -> None:
    [(start, end)] = slots_on(day, "07:00", "30m")
    assert start.astimezone(BERLIN).strftime("%H:%M") == "07:00"
    assert real_length(start, end) == timedelta(minutes=30)


def test_a_slot_in_the_hour_that_does_not_exist_airs_once() -> None:
    [(start, _end)] = slots_on(date(2026, 3, 29), "02:30", "10m")
    # 02:30 never shows on a Berlin clock that night; the slot airs at 01:30 UTC (03:30 CEST)
    assert start.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_slot_in_the_hour_that_happens_twice_airs_once_in_the_first() -> None:
    [(start, _end)] = slots_on(date(2026, 10, 25), "02:30", "10m")
    assert start.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # CEST, not CET


def test_a_slot_across_the_spring_change_lasts_its_length() -> None:
    [(start, end)] = slots_on(date(2026, 3, 29), "01:45", "90m")
    assert real_length(start, end) == timedelta(minutes=90)


def test_a_slot_across_the_autumn_change_lasts_its_length() -> None:
    [(start, end)] = slots_on(date(2026, 10, 25), "02:45", "30m")
    assert real_length(start, end) == timedelta(minutes=30)


def test_a_blackout_over_the_autumn_night_silences_the_whole_real_night() -> None:
    cfg = make_config(
        [{"name": "夜间", "start": "05:30", "duration": "10m", "playlist": "p"}], "Europe/Berlin"
    )
    start, end = datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 6, 0)
    night = Blackout("夜", start, end.replace(tzinfo=BERLIN))
    assert real_length(night.start, night.end) == timedelta(hours=7)  # the night is an hour longer
    [airing] = plan(cfg, [night], date(2026, 10, 25), 1)
    assert airing.status == "blackout"
