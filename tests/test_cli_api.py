"""The command line (check, plan, asrun, run's refusal) and the read-only HTTP API."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from peers.daemon import ROOT, SH

from controller.api.app import create_app
from controller.cli.main import main
from controller.config import load_config
from controller.records.asrun_store import Store


class NightClock:
    """03:00 station time, whatever the real hour: no slot is near, so nothing airs."""

    def now(self) -> datetime:
        return datetime(2027, 6, 1, 3, 0, tzinfo=SH)

    def monotonic(self) -> float:
        return time.monotonic()


def test_the_shipped_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(ROOT / "config.yaml")]) == 0
    assert "config OK" in capsys.readouterr().out


def test_run_refuses_an_invalid_config(shipped: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = shipped.read_text(encoding="utf-8").replace("start: 12:00", "start: 25:00")
    shipped.write_text(text, encoding="utf-8")
    assert main(["run", "--config", str(shipped)]) == 2
    err = capsys.readouterr().err
    assert "schedule.slots[1].start: '25:00' is not a time of day" in err
    assert "拒绝启动" in err


def test_plan_shows_the_exam_blackout(shipped: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--config", str(shipped), "--from", "2027-06-06", "--days", "2"]) == 0
    table = capsys.readouterr().out
    assert "2027-06-06" in table and "静默 (2027年高考)" in table
    assert (
        main(["plan", "--config", str(shipped), "--from", "2027-06-06", "--days", "2", "--json"])
        == 0
    )
    airings = json.loads(capsys.readouterr().out)
    assert [a["status"] for a in airings] == ["scheduled"] * 3 + ["blackout"] * 3
    assert airings[0]["start"] == "2027-06-06T07:00:00+08:00"
    assert main(["plan", "--config", str(shipped), "--from", "0001-01-01"]) == 2
    assert "2000–2199" in capsys.readouterr().err


def test_asrun_prints_csv_and_json(shipped: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asrun", "--config", str(shipped)]) == 1  # no record yet: says so
    assert "no as-run record" in capsys.readouterr().err
    cfg = load_config(shipped).config
    start = datetime(2027, 6, 1, 7, 0, tzinfo=SH)
    store = Store(cfg.station.data_dir / "broadcastctl.sqlite3")
    store.open_rows("a", "早间", "anti-fraud", start, start, [("east-village", start)])
    store.close_open("a", "aired", "", audio_start=start.isoformat())
    store.close()
    argv = ["asrun", "--config", str(shipped), "--from", "2027-06-01", "--to", "2027-06-01"]
    assert main([*argv, "--csv"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert (row["slot"], row["zone"], row["outcome"]) == ("早间", "east-village", "aired")
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["outcome"] == "aired"
    assert main(["asrun", "--config", str(shipped), "--from", "2027-06-02"]) == 0
    assert "no as-run rows" in capsys.readouterr().out


def test_api_health_plan_and_status(shipped: Path) -> None:
    loaded = load_config(shipped)
    with TestClient(create_app(loaded, NightClock())) as client:
        assert client.get("/healthz").json() == {"ok": True}
        plan = client.get("/api/plan", params={"from": "2027-06-07", "days": 1}).json()
        assert [(a["slot"], a["status"]) for a in plan] == [
            ("早间", "blackout"),
            ("午间", "blackout"),
            ("晚间", "blackout"),
        ]
        assert client.get("/api/plan", params={"days": 0}).status_code == 422
        far = client.get("/api/plan", params={"from": "0001-01-01"})  # found by the fuzz
        assert far.status_code == 422 and "2000–2199" in far.text
        status = client.get("/api/status").json()
    assert status["station"] == "石桥镇广电站"
    assert status["now"] == "2027-06-01T03:00:00+08:00" and status["on_air"] == []
    assert [a["start"] for a in status["next"][:2]] == [
        "2027-06-01T07:00:00+08:00",
        "2027-06-01T12:00:00+08:00",
    ]
    assert [d["id"] for d in status["devices"]] == ["rack", "villages"]
    villages = status["devices"][1]
    assert villages["available"] is True and len(villages["channels"]) == 8
    assert [z["relays"][0]["state"] for z in status["zones"]] == ["off", "off", "off"]
