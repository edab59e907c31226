"""The as-run store keeps one form of instant and files airings under the right station day:
host in UTC, station in Asia/Shanghai, Europe/Berlin for the two clock-change nights."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import ids
import pytest

from controller.core.stationtime import day, days
from controller.records.asrun_store import Store
from controller.records.compliance import compliance
from controller.station.asrun_writer import AsRunJournal

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
# The emergency drill of issue 10: 07:40:56.123 station time on 2026-12-02.
DRILL = datetime(2026, 12, 1, 23, 40, 56, 123000, tzinfo=UTC)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


pytestmark = pytest.mark.usefixtures("host_in_utc")  # conftest: the host runs in UTC


def aired(store: Store, airing_id: str, start: datetime, minutes: float, **kw: object) -> None:
    """Rows as the runner writes them: planned times as the airing holds them (a slot's in
    station time, an override's in UTC), audio and relay times as ISO text."""
    end = start + timedelta(minutes=minutes)
    store.open_rows(airing_id, "s", "p", start, end, [("east", end)], **kw)  # type: ignore[arg-type]
    store.update(airing_id, relay_on="confirmed", relay_on_at=start.astimezone(UTC).isoformat())
    store.close_open(
        airing_id, "aired", "", audio_start=start.astimezone(SH).isoformat(),
        audio_end=end.astimezone(SH).isoformat(), relay_off_at=end.astimezone(UTC).isoformat(),
    )  # fmt: skip


def raw(db: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM asrun ORDER BY id").fetchall()
    finally:
        conn.close()


def test_an_airing_before_08_00_station_time_is_filed_under_its_station_day(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "db.sqlite3", FixedClock(DRILL))
    aired(
        store,
        ids.slot("早间", datetime(2026, 12, 2, 7, tzinfo=SH)),
        datetime(2026, 12, 2, 7, tzinfo=SH),
        30,
    )
    aired(store, ids.override("drill"), DRILL, 5, source="emergency", priority=100, exercise=True)
    aired(
        store,
        ids.slot("晚间", datetime(2026, 12, 1, 18, tzinfo=SH)),
        datetime(2026, 12, 1, 18, tzinfo=SH),
        30,
    )
    on_2nd = store.between(*day(date(2026, 12, 2), SH))
    on_1st = store.between(*day(date(2026, 12, 1), SH))
    assert [r.airing_id for r in on_2nd] == [
        ids.slot("早间", datetime(2026, 12, 2, 7, tzinfo=SH)),
        ids.override("drill"),
    ]
    assert [r.airing_id for r in on_1st] == [ids.slot("晚间", datetime(2026, 12, 1, 18, tzinfo=SH))]
    (drill,) = (r for r in on_2nd if r.airing_id == ids.override("drill"))
    assert (drill.planned_start, drill.audio_start) == (DRILL, DRILL)  # one instant, one form
    report = compliance(on_2nd, SH)
    assert [(z.day, z.extra_min, z.planned_min) for z in report] == [(date(2026, 12, 2), 5, 30)]
    store.close()


def test_every_stored_instant_is_utc_with_z_whatever_form_it_came_in(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", FixedClock(DRILL))
    aired(store, ids.override("drill"), DRILL, 5, source="emergency")
    store.set_state("last_alive", DRILL.astimezone(SH).isoformat())
    store.close()
    (row,) = raw(tmp_path / "db.sqlite3")
    times = ("planned_start", "planned_end", "zone_end", "relay_on_at", "audio_start",
             "audio_end", "relay_off_at", "updated_at")  # fmt: skip
    assert {len(row[c]) for c in times} == {27} and all(row[c].endswith("Z") for c in times)
    assert row["planned_start"] == row["audio_start"] == "2026-12-01T23:40:56.123000Z"
    # updated_at orders a row's writes: it comes from the injected clock, never the machine's
    assert row["updated_at"] == "2026-12-01T23:40:56.123000Z"
    store = Store(tmp_path / "db.sqlite3")
    assert store.get_state("last_alive") == "2026-12-01T23:40:56.123000Z"
    store.close()


def test_the_journal_stamps_rows_with_its_injected_clock(tmp_path: Path) -> None:
    journal = AsRunJournal(tmp_path / "db.sqlite3", clock=FixedClock(DRILL))
    journal.open_rows(
        ids.override("x"), "s", "p", DRILL, DRILL + timedelta(minutes=1), [("east", DRILL)]
    )
    assert journal.flush()
    journal.close()
    (row,) = raw(tmp_path / "db.sqlite3")
    assert row["updated_at"] == "2026-12-01T23:40:56.123000Z"


def test_a_write_the_store_refuses_does_not_stop_the_journal(tmp_path: Path) -> None:
    journal = AsRunJournal(tmp_path / "db.sqlite3", clock=FixedClock(DRILL))
    journal.open_rows(
        ids.override("x"), "s", "p", DRILL, DRILL + timedelta(minutes=1), [("east", DRILL)]
    )
    journal.update(ids.override("x"), audio_start="2026-12-02T07:40:56")  # no offset: whose 07:40?
    journal.close_open(ids.override("x"), "aired", "", audio_end=DRILL + timedelta(minutes=1))
    assert journal.flush()
    (row,) = journal.rows(ids.override("x"))
    journal.close()
    assert (row.outcome, row.audio_start, row.audio_end) == (
        "aired", None, DRILL + timedelta(minutes=1),
    )  # fmt: skip


def test_a_preempted_airing_whose_window_closed_is_not_owed(tmp_path: Path) -> None:
    """planned_end 07:30 station time (+08:00 text before) against a UTC `now` at 08:00
    station time compared as strings said the window was still open."""
    store = Store(tmp_path / "db.sqlite3", FixedClock(DRILL))
    start, end = datetime(2026, 12, 2, 7, tzinfo=SH), datetime(2026, 12, 2, 7, 30, tzinfo=SH)
    store.open_rows(
        ids.slot("早间", datetime(2026, 12, 2, 7, tzinfo=SH)),
        "早间",
        "p",
        start,
        end,
        [("east", end)],
    )
    store.close_open(ids.slot("早间", datetime(2026, 12, 2, 7, tzinfo=SH)), "preempted", "by ov:x")
    assert store.preempted_open(datetime(2026, 12, 1, 23, 20, tzinfo=UTC)) == [
        ids.slot("早间", datetime(2026, 12, 2, 7, tzinfo=SH))
    ]
    assert store.preempted_open(datetime(2026, 12, 2, 0, 0, tzinfo=UTC)) == []
    assert store.preempted_open(datetime(2026, 12, 2, 8, 0, tzinfo=SH)) == []
    assert store.known_airings(datetime(2026, 12, 2, 0, 0, tzinfo=UTC)) == set()
    assert store.known_airings(datetime(2026, 12, 1, 23, 29, tzinfo=UTC)) == {
        ids.slot("早间", datetime(2026, 12, 2, 7, tzinfo=SH))
    }
    store.close()


@pytest.mark.parametrize(
    ("night", "inside", "outside"),
    [
        (
            date(2026, 3, 29),  # 23 h: 02:00 CET → 03:00 CEST
            [(0, 30), (1, 59), (3, 0), (23, 30)],
            [datetime(2026, 3, 28, 23, 59, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)],
        ),
        (
            date(2026, 10, 25),  # 25 h: 03:00 CEST → 02:00 CET, 02:xx twice
            [(0, 30), (2, 30), (23, 30)],
            [datetime(2026, 10, 24, 23, 59, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN)],
        ),
    ],
)
def test_the_record_day_filter_on_clock_change_nights(
    tmp_path: Path, night: date, inside: list[tuple[int, int]], outside: list[datetime]
) -> None:
    store = Store(tmp_path / "db.sqlite3")
    starts = [datetime.combine(night, datetime.min.time(), BERLIN).replace(hour=h, minute=m)
              for h, m in inside]  # fmt: skip
    if night.month == 10:  # the second 02:30 (CET), an hour after the first
        starts.append(starts[1].replace(fold=1))
    for i, start in enumerate([*starts, *outside]):
        aired(store, f"a{i}", start.astimezone(UTC) if i % 2 else start, 10)
    rows = store.between(*day(night, BERLIN))
    assert sorted(r.planned_start for r in rows) == sorted(s.astimezone(UTC) for s in starts)
    assert {r.planned_start.astimezone(BERLIN).date() for r in rows} == {night}
    assert [z.day for z in compliance(rows, BERLIN)] == [night]
    both = store.between(*days(night - timedelta(days=1), night + timedelta(days=1), BERLIN))
    assert len(both) == len(starts) + len(outside)
    store.close()
