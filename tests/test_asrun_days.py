"""Issue 10's record bugs, on the database today's release wrote (tests/fixtures/): an airing
between 00:00 and 08:00 station time is filed under its station day by the CLI, the API, the
CSV and the compliance report, and every time column has the station's offset. Host in UTC,
station in Asia/Shanghai (the shipped config)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import ids
import pytest
from fastapi.testclient import TestClient
from test_cli_api import NightClock

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.cli.main import main
from controller.config import load_config
from controller.records.asrun_row import TIMES

FIXTURE = Path(__file__).parent / "fixtures" / "release-2026-12.sqlite3"
DRILL = "紧急插播(演练)"  # the emergency drill's slot label: 07:40:56.123 on 2026-12-02
ON_2ND = ["--from", "2026-12-02", "--to", "2026-12-02"]


pytestmark = pytest.mark.usefixtures("host_in_utc")  # conftest: the host runs in UTC


@pytest.fixture
def station(shipped: Path) -> Path:
    """The shipped station with the release's database in its data_dir."""
    db = load_config(shipped).config.station.data_dir / "broadcastctl.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, db)
    return shipped


def offsets(rows: list[dict[str, Any]]) -> set[str]:
    return {str(r[c])[-6:] for r in rows for c in TIMES if r[c]}


def test_cli_table_csv_and_json_file_the_drill_under_its_station_day(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["asrun", "--config", str(station)]
    assert main([*argv, *ON_2ND]) == 0
    table = capsys.readouterr().out
    (line,) = [x for x in table.splitlines() if DRILL in x and "east-village" in x]
    # planned start and audio start on one clock in one row (was 23:40:56 beside 07:40:56)
    assert "2026-12-02 07:40:56" in line and "07:40:56.123" in line and "23:40" not in line
    assert main([*argv, "--from", "2026-12-01", "--to", "2026-12-01"]) == 0
    assert DRILL not in capsys.readouterr().out

    assert main([*argv, *ON_2ND, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    drill = [r for r in rows if r["slot"] == DRILL]
    assert [r["planned_start"] for r in drill] == ["2026-12-02T07:40:56.123+08:00"] * 3
    assert offsets(rows) == {"+08:00"}  # relay_off_at mixed +08:00 and +00:00
    assert main([*argv, *ON_2ND, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert offsets(shown) == {"+08:00"}
    assert sum(r["slot"] == DRILL for r in shown) == 3


def test_api_record_csv_and_compliance_file_the_drill_under_its_station_day(
    station: Path,
) -> None:
    db = load_config(station).config.station.data_dir / "broadcastctl.sqlite3"
    users = UserStore(db)
    op = {"Authorization": f"Bearer {users.add('u-op', 'operator')}"}
    users.close()
    day2 = {"from": "2026-12-02", "to": "2026-12-02"}
    with TestClient(create_app(load_config(station), NightClock())) as client:
        rows = client.get("/api/asrun", params=day2, headers=op).json()
        drill = [r for r in rows if r["airing_id"] == ids.override("e1")]
        assert [(r["planned_start"], r["outcome"]) for r in drill] == [
            ("2026-12-02T07:40:56.123+08:00", "aired")
        ] * 3
        assert offsets(rows) == {"+08:00"}
        day1 = client.get("/api/asrun", params={"from": "2026-12-01"}, headers=op).json()
        assert ids.override("e1") not in {r["airing_id"] for r in day1} and day1
        got = client.get("/api/asrun", params={**day2, "format": "csv"}, headers=op)
        assert "asrun-2026-12-02-2026-12-02.csv" in got.headers["content-disposition"]
        assert offsets(list(csv.DictReader(io.StringIO(got.text)))) == {"+08:00"}
        report = client.get("/api/reports/compliance", params=day2, headers=op).json()
        assert [(z["date"], z["zone"], z["extra_min"]) for z in report] == [
            ("2026-12-02", "east-village", 35.935),  # the drill and the manual airing
            ("2026-12-02", "market", 5.0),
            ("2026-12-02", "west-village", 5.0),
        ]
        month = {"from": "2026-12-01", "to": "2026-12-31"}
        by_day = client.get("/api/reports/compliance", params=month, headers=op).json()
        assert {z["date"] for z in by_day} == {"2026-12-01", "2026-12-02"}


def test_user_list_shows_station_time(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["user", "list", "--config", str(station)]) == 0
    out = capsys.readouterr().out
    (li,) = [x for x in out.splitlines() if x.startswith("li.jing")]
    assert "2026-12-01 06:00:00" in li and "revoked 2026-12-01 06:05:00" in li  # 22:00Z
    assert main(["user", "list", "--config", str(station), "--json"]) == 0
    users = json.loads(capsys.readouterr().out)
    assert {u["created_at"] for u in users} == {"2026-12-01T06:00:00+08:00"}
