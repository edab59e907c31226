"""A database written by the release before the one stored form (tests/fixtures/, made by
make_release_db.py with that release's stores) is upgraded in place when a store opens it:
every row, outcome and instant survives, and nothing is filed under another station day."""

from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import ids
import pytest

from controller.access.sessions import SessionStore
from controller.access.users import UserStore
from controller.config.models import MediaConfig
from controller.core.db_upgrade import INSTANTS, VERSION
from controller.core.stationtime import day, local_day
from controller.media.library import MediaLibrary
from controller.overrides.store import OverrideStore
from controller.records.asrun_store import Store
from controller.records.audit import AuditLog
from controller.records.blackouts import BlackoutStore
from controller.records.compliance import compliance

FIXTURE = Path(__file__).parent / "fixtures" / "release-2026-12.sqlite3"
SH = ZoneInfo("Asia/Shanghai")
DRILL = datetime(2026, 12, 1, 23, 40, 56, 123000, tzinfo=UTC)  # 07:40:56.123 on 12-02 in SH
Table = dict[str, list[dict[str, object]]]


class FixedClock:
    def now(self) -> datetime:
        return DRILL

    def monotonic(self) -> float:
        return time.monotonic()


pytestmark = pytest.mark.usefixtures("host_in_utc")  # conftest: the host runs in UTC


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    db = tmp_path / "broadcastctl.sqlite3"
    shutil.copy(FIXTURE, db)
    return db


def dump(db: Path) -> tuple[int, Table]:
    """(user_version, every row of every table) read with plain sqlite3."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        tables = {n: [dict(r) for r in conn.execute(f"SELECT * FROM {n} ORDER BY rowid")]
                  for n in names}  # fmt: skip
        return int(conn.execute("PRAGMA user_version").fetchone()[0]), tables
    finally:
        conn.close()


def instant(text: object) -> datetime:
    assert isinstance(text, str)
    return datetime.fromisoformat(text).astimezone(UTC)


def test_the_fixture_is_what_todays_release_wrote() -> None:
    version, before = dump(FIXTURE)
    assert version == 0
    drill = [r for r in before["asrun"] if r["airing_id"] == ids.override("e1")]
    assert {r["planned_start"] for r in drill} == {"2026-12-01T23:40:56.123000+00:00"}
    assert {str(r["planned_start"])[-6:] for r in before["asrun"]} == {"+08:00", "+00:00"}
    assert {len(rows) > 0 for rows in before.values()} == {True}  # a row in every store


def test_upgrade_keeps_every_row_outcome_and_instant(old_db: Path) -> None:
    _, before = dump(old_db)
    Store(old_db).close()  # the first store to open the file upgrades all of it
    version, after = dump(old_db)
    assert version == VERSION
    assert {t: len(rows) for t, rows in after.items()} == {t: len(r) for t, r in before.items()}
    changed = 0
    for table, rows in before.items():
        for old, new in zip(rows, after[table], strict=True):
            times = set(INSTANTS.get(table, ()))
            if table == "station_state" and old["key"] == "last_alive":
                times = {"value"}
            for column, value in old.items():
                if column in times and value is not None:
                    text = new[column]
                    assert instant(text) == instant(value), (table, column, value)
                    assert isinstance(text, str) and len(text) == 27 and text.endswith("Z")
                    changed += text != value
                else:  # ids, outcomes, reasons, clips, hashes: untouched
                    assert new[column] == value, (table, column)
    assert changed > 100
    state = {r["key"]: r["value"] for r in after["station_state"]}
    assert state["last_alive"] == "2026-12-02T04:10:00.000000Z"
    assert (
        Store(old_db).get_state(
            "no_resume|" + ids.slot("晚间", datetime(2026, 12, 1, 18, tzinfo=SH))
        )
        is not None
    )


def test_nothing_is_filed_under_another_station_day(old_db: Path) -> None:
    _, before = dump(old_db)
    expected: dict[date, set[tuple[object, object]]] = {}
    for r in before["asrun"]:
        on = local_day(instant(r["planned_start"]), SH)
        expected.setdefault(on, set()).add((r["airing_id"], r["zone"]))
    store = Store(old_db)
    for which in (date(2026, 12, 1), date(2026, 12, 2)):
        rows = store.between(*day(which, SH))
        assert {(r.airing_id, r.zone) for r in rows} == expected[which]
    on_2nd = store.between(*day(date(2026, 12, 2), SH))
    drill = [r for r in on_2nd if r.airing_id == ids.override("e1")]
    assert [(r.outcome, r.planned_start, r.audio_start) for r in drill] == [
        ("aired", DRILL, DRILL)
    ] * 3
    assert [(z.day, z.zone, round(z.extra_min, 3)) for z in compliance(on_2nd, SH)] == [
        (date(2026, 12, 2), "east-village", 5 + 30.935),  # the drill and the manual airing
        (date(2026, 12, 2), "market", 5.0),
        (date(2026, 12, 2), "west-village", 5.0),
    ]
    # the 午间 slot an orderly stop ended at 12:10 may still be joined until 12:30
    assert store.closed_by_shutdown(datetime(2026, 12, 2, 12, 15, tzinfo=SH)) == [
        ids.slot("午间", datetime(2026, 12, 2, 12, tzinfo=SH))
    ]
    assert store.closed_by_shutdown(datetime(2026, 12, 2, 12, 31, tzinfo=SH)) == []
    store.close()


def test_every_store_reads_the_upgraded_file(old_db: Path, tmp_path: Path) -> None:
    clock = FixedClock()
    overrides = OverrideStore(old_db, clock)
    drill = overrides.by_identifier("CAP-SQ-20261202-0740")
    assert drill is not None and (drill.start, drill.exercise) == (DRILL, True)
    assert [o.id for o in overrides.ending_after(DRILL)] == ["e1"]
    stopped = overrides.get("m2")
    assert stopped is not None and (stopped.state, stopped.ended_at) == ("stopped", DRILL)
    overrides.close()
    blackouts = BlackoutStore(old_db, clock)
    (market,) = blackouts.list()
    assert market.start == datetime(2026, 12, 1, 7, tzinfo=SH)
    assert market.created_at == datetime(2026, 11, 30, 22, 10, tzinfo=UTC)
    blackouts.close()
    users = UserStore(old_db, clock)
    assert [(u.name, u.active) for u in users.list()] == [
        ("li.jing", False), ("wang", True), ("zhang", True),
    ]  # fmt: skip
    assert users.check_password("zhang", "zhang-secret-1") is not None
    users.close()
    audit = AuditLog(old_db, clock)
    entries = audit.list(since=datetime(2026, 12, 2, 7, 40, tzinfo=SH))
    assert [e.action for e in entries] == ["media.approve", "airing.stop", "airing.create"]
    audit.close()
    SessionStore(old_db, clock).close()
    media = MediaLibrary(old_db, tmp_path / "media", MediaConfig(), ffmpeg="ffmpeg")
    (clip,) = media.list()
    assert clip.valid_from == datetime(2026, 12, 1, tzinfo=SH) and clip.playable(DRILL)
    media.close()


def test_the_upgrade_runs_once(old_db: Path) -> None:
    Store(old_db).close()
    _, once = dump(old_db)
    UserStore(old_db).close()
    Store(old_db).close()
    assert dump(old_db) == (VERSION, once)


def test_a_new_database_starts_at_the_current_version(tmp_path: Path) -> None:
    UserStore(tmp_path / "new.sqlite3").close()
    assert dump(tmp_path / "new.sqlite3")[0] == VERSION
