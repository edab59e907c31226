"""The compliance report: table tests on hand-made as-run rows."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import ids
import pytest

from controller.records.asrun_store import AsRunRow
from controller.records.compliance import compliance, compliance_csv

SH = ZoneInfo("Asia/Shanghai")


def row(
    zone: str,
    start: datetime,
    minutes: float,
    outcome: str | None,
    aired: tuple[float, float] | None = None,
    relay_on: str | None = "confirmed",
    reason: str = "",
) -> AsRunRow:
    end = start + timedelta(minutes=minutes)
    a0 = a1 = None
    if aired is not None:
        a0 = start + timedelta(minutes=aired[0])
        a1 = start + timedelta(minutes=aired[1])
    return AsRunRow(
        airing_id=ids.slot("s", start), slot="s", zone=zone,
        planned_start=start, planned_end=end, zone_end=end,
        playlist="p", state="done", relay_on_at=None, relay_on=relay_on, audio_start=a0,
        audio_end=a1, frames=None, relay_off_at=None, relay_off=None, joined_at=None, clips=[],
        outcome=outcome, reason=reason,
    )  # fmt: skip


MORNING = datetime(2027, 6, 1, 7, 0, tzinfo=SH)
NOON = datetime(2027, 6, 1, 12, 0, tzinfo=SH)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [row("e", MORNING, 30, "aired", (0, 30))],
            (30.0, 30.0, 30.0, {}),
            id="aired-confirmed",
        ),
        pytest.param(
            [row("e", MORNING, 30, "aired", (0, 30), relay_on="commanded")],
            (30.0, 30.0, 0.0, {}),
            id="aired-write-only-relay",
        ),
        pytest.param(
            [row("e", MORNING, 30, "joined", (10, 30))],
            (30.0, 20.0, 20.0, {"joined": 10.0}),
            id="joined-late",
        ),
        pytest.param(
            [row("e", MORNING, 30, "cut", (0, 12), reason="静默期")],
            (30.0, 12.0, 12.0, {"cut": 18.0}),
            id="cut-by-blackout",
        ),
        pytest.param(
            [row("e", MORNING, 30, "blacked_out", relay_on=None)],
            (30.0, 0.0, 0.0, {"blacked_out": 30.0}),
            id="blacked-out",
        ),
        pytest.param(
            [row("e", MORNING, 30, "missed", relay_on=None)],
            (30.0, 0.0, 0.0, {"missed": 30.0}),
            id="missed",
        ),
        pytest.param(
            [row("e", MORNING, 30, "failed", (0, 5))],
            (30.0, 0.0, 0.0, {"failed": 30.0}),
            id="failed-audio-does-not-count",
        ),
        pytest.param(
            [row("e", MORNING, 30, None, (0, 5))],
            (30.0, 0.0, 0.0, {"open": 30.0}),
            id="still-open",
        ),
        pytest.param(
            [row("e", MORNING, 30, "aired", (0, 30)), row("e", NOON, 20, "missed")],
            (50.0, 30.0, 30.0, {"missed": 20.0}),
            id="two-slots-one-day",
        ),
    ],
)
def test_one_zone_one_day(
    rows: list[AsRunRow], expected: tuple[float, float, float, dict[str, float]]
) -> None:
    (day,) = compliance(rows, SH)
    assert (day.planned_min, day.aired_min, day.confirmed_min, day.lost) == expected
    assert day.lost_min == pytest.approx(expected[0] - expected[1])


def test_rows_split_by_zone_and_station_day() -> None:
    late = datetime(2027, 6, 1, 23, 50, tzinfo=SH)  # 15:50 UTC: still 1 June in the station
    rows = [
        row("w", MORNING + timedelta(days=1), 30, "aired", (0, 30)),
        row("e", late.astimezone(ZoneInfo("UTC")), 10, "aired", (0, 10)),
        row("e", MORNING, 30, "failed", reason="功放故障"),
    ]
    report = compliance(rows, SH)
    assert [(d.day.isoformat(), d.zone, d.planned_min) for d in report] == [
        ("2027-06-01", "e", 40.0),
        ("2027-06-02", "w", 30.0),
    ]
    assert report[0].reasons == ["功放故障"]
    table = list(csv.DictReader(io.StringIO(compliance_csv(report))))
    assert table[0]["lost_failed_min"] == "30.0" and table[0]["reasons"] == "功放故障"
    assert compliance([], SH) == []
