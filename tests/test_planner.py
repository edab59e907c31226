"""Planner tables: slots, weekday masks, midnight, blackouts whole/partial/per zone, time zones."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from controller.config.models import Config
from controller.planning.planner import Blackout, airing_to_dict, airings_between, plan

SH = ZoneInfo("Asia/Shanghai")


def make_config(slots: list[dict[str, Any]], tz: str = "Asia/Shanghai") -> Config:
    return Config.model_validate(
        {
            "station": {"name": "测试站", "timezone": tz},
            "relays": [{"id": "r", "type": "fake", "channels": 3}],
            "zones": [
                {"id": "east", "name": "东村", "relays": ["r:1"]},
                {"id": "west", "name": "西村", "relays": ["r:2"]},
            ],
            "schedule": {"slots": slots},
        }
    )


THREE = [
    {"name": "早间", "start": "07:00", "duration": "30m", "playlist": "p"},
    {"name": "午间", "start": "12:00", "duration": "30m", "playlist": "p"},
    {"name": "晚间", "start": "18:00", "duration": "30m", "playlist": "p"},
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def test_three_slots_a_day_for_a_week() -> None:
    airings = plan(make_config(THREE), [], date(2027, 6, 1), 7)
    assert len(airings) == 21
    assert [a.start for a in airings[:3]] == [
        at("2027-06-01 07:00"),
        at("2027-06-01 12:00"),
        at("2027-06-01 18:00"),
    ]
    assert all(a.end - a.start == timedelta(minutes=30) for a in airings)
    assert all(
        a.status == "scheduled" and [z.zone for z in a.zones] == ["east", "west"] for a in airings
    )


def test_weekday_mask() -> None:
    cfg = make_config(
        [
            {
                "name": "周末",
                "start": "09:00",
                "duration": "10m",
                "playlist": "p",
                "days": ["sat", "sun"],
            }
        ]
    )
    airings = plan(cfg, [], date(2027, 6, 1), 14)  # 2027-06-01 is a Tuesday
    assert [a.start.date() for a in airings] == [
        date(2027, 6, 5),
        date(2027, 6, 6),
        date(2027, 6, 12),
        date(2027, 6, 13),
    ]


def test_midnight_crossing_slot_belongs_to_its_start_day() -> None:
    cfg = make_config([{"name": "深夜", "start": "23:45", "duration": "30m", "playlist": "p"}])
    airings = plan(cfg, [], date(2027, 6, 1), 2)
    assert [(a.start, a.end) for a in airings] == [
        (at("2027-06-01 23:45"), at("2027-06-02 00:15")),
        (at("2027-06-02 23:45"), at("2027-06-03 00:15")),
    ]


@pytest.mark.parametrize(
    ("blackout", "expected"),
    [
        # covers the whole slot → both zones silent
        (
            Blackout("高考", at("2027-06-07 00:00"), at("2027-06-11 00:00")),
            [("east", "blackout", "07:00"), ("west", "blackout", "07:00")],
        ),
        # starts mid-slot → cut at its start
        (
            Blackout("临时", at("2027-06-07 07:10"), at("2027-06-07 08:00")),
            [("east", "cut", "07:10"), ("west", "cut", "07:10")],
        ),
        # zone-scoped → only that zone
        (
            Blackout("考点", at("2027-06-07 06:00"), at("2027-06-07 09:00"), frozenset({"east"})),
            [("east", "blackout", "07:00"), ("west", "scheduled", "07:30")],
        ),
        # ends exactly at the slot's start → no effect (end is exclusive)
        (
            Blackout("夜间", at("2027-06-06 22:00"), at("2027-06-07 07:00")),
            [("east", "scheduled", "07:30"), ("west", "scheduled", "07:30")],
        ),
        # starts exactly at the slot's end → no effect
        (
            Blackout("之后", at("2027-06-07 07:30"), at("2027-06-07 09:00")),
            [("east", "scheduled", "07:30"), ("west", "scheduled", "07:30")],
        ),
        # starts at the slot's start and ends inside it → silent for the whole airing
        (
            Blackout("短", at("2027-06-07 07:00"), at("2027-06-07 07:05")),
            [("east", "blackout", "07:00"), ("west", "blackout", "07:00")],
        ),
    ],
)
def test_blackouts(blackout: Blackout, expected: list[tuple[str, str, str]]) -> None:
    cfg = make_config([THREE[0]])
    (airing,) = plan(cfg, [blackout], date(2027, 6, 7), 1)
    got = [(z.zone, z.status, f"{z.end.astimezone(SH):%H:%M}") for z in airing.zones]
    assert got == expected
    for z in airing.zones:
        assert z.blackout == (None if z.status == "scheduled" else blackout.name)


def test_midnight_crossing_blackout_cuts_a_late_slot_and_silences_the_next_morning() -> None:
    cfg = make_config(
        [
            {"name": "深夜", "start": "23:45", "duration": "30m", "playlist": "p"},
            {"name": "早间", "start": "00:20", "duration": "10m", "playlist": "p"},
        ]
    )
    quiet = Blackout("夜间静默", at("2027-06-07 00:00"), at("2027-06-07 06:00"))
    airings = plan(cfg, [quiet], date(2027, 6, 6), 1)
    late = next(a for a in airings if a.slot == "深夜")
    early = next(a for a in airings if a.slot == "早间")
    assert early.start == at("2027-06-06 00:20") and early.status == "scheduled"
    assert late.status == "cut" and late.audio_end == at("2027-06-07 00:00")
    (next_early,) = plan(cfg, [quiet], date(2027, 6, 7), 1)[:1]
    assert next_early.slot == "早间" and next_early.status == "blackout"


def test_earliest_blackout_wins_and_partial_zone_cut_keeps_audio_for_others() -> None:
    cfg = make_config([THREE[0]])
    east_cut = Blackout(
        "东村考点", at("2027-06-07 07:10"), at("2027-06-07 09:00"), frozenset({"east"})
    )
    all_cut = Blackout("全镇", at("2027-06-07 07:20"), at("2027-06-07 09:00"))
    (airing,) = plan(cfg, [all_cut, east_cut], date(2027, 6, 7), 1)
    ends = {z.zone: (z.status, f"{z.end.astimezone(SH):%H:%M}", z.blackout) for z in airing.zones}
    assert ends == {"east": ("cut", "07:10", "东村考点"), "west": ("cut", "07:20", "全镇")}
    assert airing.audio_end == at("2027-06-07 07:20")


def test_station_timezone_not_the_hosts() -> None:
    # Whatever TZ the host runs in, 07:00 means 07:00 in the station's zone (23:00 UTC before).
    airings = plan(make_config([THREE[0]]), [], date(2027, 6, 1), 1)
    assert airings[0].start.astimezone(ZoneInfo("UTC")) == datetime(
        2027, 5, 31, 23, 0, tzinfo=ZoneInfo("UTC")
    )
    utc_cfg = make_config([THREE[0]], tz="UTC")
    assert plan(utc_cfg, [], date(2027, 6, 1), 1)[0].start.utcoffset() == timedelta(0)


def test_range_is_half_open_and_matches_plan() -> None:
    cfg = make_config(THREE)
    begin, until = at("2027-06-01 07:00"), at("2027-06-01 18:00")
    got = airings_between(cfg, [], begin, until)
    assert [a.slot for a in got] == ["早间", "午间"]
    assert airings_between(cfg, [], begin, at("2027-06-02 00:00")) == plan(
        cfg, [], date(2027, 6, 1), 1
    )


def test_json_shape() -> None:
    (airing,) = plan(make_config([THREE[0]]), [], date(2027, 6, 1), 1)
    d = airing_to_dict(airing, SH)
    assert d["start"] == "2027-06-01T07:00:00+08:00" and d["status"] == "scheduled"
    assert d["zones"] == [
        {
            "zone": "east",
            "status": "scheduled",
            "end": "2027-06-01T07:30:00+08:00",
            "blackout": None,
        },
        {
            "zone": "west",
            "status": "scheduled",
            "end": "2027-06-01T07:30:00+08:00",
            "blackout": None,
        },
    ]
