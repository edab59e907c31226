"""Blackouts, the as-run record and the compliance report over HTTP, on a station folder."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from peers.daemon import SH
from test_cli_api import NightClock

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config
from controller.records.asrun_store import Store
from controller.records.audit import AuditLog

EXAM_DAY = {
    "name": "2027年高考加考",
    "start": "2027-06-07T00:00:00",
    "end": "2027-06-08T00:00:00",
    "zones": "all",
    "reason": "考点周边禁止广播",
}


def _tokens(config: Path) -> tuple[Path, dict[str, str]]:
    db = load_config(config).config.station.data_dir / "broadcastctl.sqlite3"
    users = UserStore(db)
    tokens = {role: users.add(f"u-{role}", role) for role in ("admin", "operator", "police")}
    users.close()
    return db, tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_manages_blackouts_and_the_plan_follows(shipped: Path) -> None:
    db, tok = _tokens(shipped)
    admin, police = _auth(tok["admin"]), _auth(tok["police"])
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        assert client.get("/api/blackouts").status_code == 401
        assert client.post("/api/blackouts", json=EXAM_DAY).status_code == 401
        assert client.post("/api/blackouts", json=EXAM_DAY, headers=police).status_code == 403
        operator = _auth(tok["operator"])
        assert client.post("/api/blackouts", json=EXAM_DAY, headers=operator).status_code == 403

        for far in ({"start": "0001-01-01T00:00", "end": "0001-01-03T00:00"},
                    {"start": "2027-01-01T00:00", "end": "2029-01-01T00:00"}):  # fmt: skip
            refused = client.post("/api/blackouts", json={**EXAM_DAY, **far}, headers=admin)
            assert refused.status_code == 422 and "2000–2199" in refused.text
        assert client.get("/api/blackouts", headers=admin).json()[-1]["source"] == "config"

        made = client.post("/api/blackouts", json=EXAM_DAY, headers=admin)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["source"] == "api" and body["created_by"] == "u-admin"
        assert body["start"] == "2027-06-07T00:00:00+08:00"
        assert [(a["slot"], a["status"]) for a in body["silences"]] == [
            ("早间", "blackout"),
            ("午间", "blackout"),
            ("晚间", "blackout"),
        ]

        # A day config.yaml leaves alone: the new blackout alone silences the market at noon.
        noon = {
            "name": "集镇检修",
            "start": "2027-06-12T11:00:00+08:00",
            "end": "2027-06-12T14:00:00+08:00",
            "zones": ["market"],
            "reason": "线路检修",
        }
        made = client.post("/api/blackouts", json=noon, headers=admin)
        assert made.status_code == 201, made.text
        market_id = made.json()["id"]
        (silenced,) = made.json()["silences"]
        assert silenced["slot"] == "午间" and silenced["status"] == "cut"
        plan = client.get("/api/plan", params={"from": "2027-06-12", "days": 1}).json()
        zones = {z["zone"]: z["status"] for a in plan if a["slot"] == "午间" for z in a["zones"]}
        assert zones == {"east-village": "scheduled", "west-village": "scheduled",
                         "market": "blackout"}  # fmt: skip

        # Validation: Chinese first, then English.
        bad = client.post("/api/blackouts", json={**noon, "end": noon["start"]}, headers=admin)
        assert bad.status_code == 422 and "结束时间须晚于开始时间 / end must be after" in bad.text
        bad = client.post("/api/blackouts", json={**noon, "zones": ["moon"]}, headers=admin)
        assert bad.status_code == 422 and "未知区域 moon / unknown zones" in bad.text

        # PATCH: widen to every zone; the answer previews again.
        patched = client.patch(f"/api/blackouts/{market_id}", json={"zones": "all"}, headers=admin)
        assert patched.status_code == 200, patched.text
        assert patched.json()["zones"] == "all"
        assert [z["status"] for z in patched.json()["silences"][0]["zones"]] == ["blackout"] * 3
        assert (
            client.patch(
                f"/api/blackouts/{market_id}", json={"start": "2027-06-13T00:00"}, headers=admin
            ).status_code
            == 422
        )  # start after end

        # config.yaml's blackouts are listed read-only.
        listed = client.get("/api/blackouts", headers=police).json()
        assert listed[0]["source"] == "config" and "id" not in listed[0]
        assert [b["name"] for b in listed] == ["2027年高考", "2027年高考加考", "集镇检修"]
        conflict = client.delete("/api/blackouts/2027年高考", headers=admin)
        assert conflict.status_code == 409 and "只读" in conflict.text
        assert (
            client.patch(
                "/api/blackouts/2027年高考", json={"reason": "x"}, headers=admin
            ).status_code
            == 409
        )
        assert client.delete("/api/blackouts/999", headers=admin).status_code == 404

        gone = client.delete(
            f"/api/blackouts/{market_id}", params={"reason": "检修取消"}, headers=admin
        )
        assert gone.status_code == 200
        plan = client.get("/api/plan", params={"from": "2027-06-12", "days": 1}).json()
        assert {a["status"] for a in plan} == {"scheduled"}
        assert client.delete(f"/api/blackouts/{market_id}", headers=admin).status_code == 404

    audit = AuditLog(db)
    actions = [(e.action, e.user, e.reason) for e in reversed(audit.list())]
    audit.close()
    assert [a for a in actions if a[0].startswith("blackout.")] == [
        ("blackout.create", "u-admin", "考点周边禁止广播"),
        ("blackout.create", "u-admin", "线路检修"),
        ("blackout.update", "u-admin", "线路检修"),
        ("blackout.delete", "u-admin", "检修取消"),
    ]


def _write_rows(db: Path) -> None:
    store = Store(db)
    day = datetime(2027, 6, 1, 7, 0, tzinfo=SH)
    end = day + timedelta(minutes=30)
    store.open_rows("a1", "早间", "anti-fraud", day, end, [("east-village", end), ("market", end)])
    store.update("a1", ["east-village"], relay_on="confirmed")
    store.close_open(
        "a1", "aired", "", ["east-village"],
        audio_start=day.isoformat(), audio_end=end.isoformat(),
    )  # fmt: skip
    store.close_open("a1", "failed", "继电器无响应 / relay timeout", ["market"])
    store.close()


def test_asrun_and_compliance_over_http(shipped: Path) -> None:
    db, tok = _tokens(shipped)
    _write_rows(db)
    days = {"from": "2027-06-01", "to": "2027-06-01"}
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        assert client.get("/api/asrun", params=days).status_code == 401
        police = _auth(tok["police"])
        assert client.get("/api/asrun", params=days, headers=police).status_code == 403
        assert client.get("/api/reports/compliance", params=days, headers=police).status_code == 403
        op = _auth(tok["operator"])
        rows = client.get("/api/asrun", params=days, headers=op).json()
        assert [(r["zone"], r["outcome"]) for r in rows] == [
            ("east-village", "aired"),
            ("market", "failed"),
        ]
        got = client.get("/api/asrun", params={**days, "format": "csv"}, headers=op)
        assert got.headers["content-type"].startswith("text/csv")
        assert "asrun-2027-06-01-2027-06-01.csv" in got.headers["content-disposition"]
        assert [r["zone"] for r in csv.DictReader(io.StringIO(got.text))] == [
            "east-village",
            "market",
        ]
        later = client.get("/api/asrun", params={"from": "2027-06-02"}, headers=op).json()
        assert later == []
        backwards = {"from": "2027-06-02", "to": "2027-06-01"}
        assert client.get("/api/asrun", params=backwards, headers=op).status_code == 422

        report = client.get("/api/reports/compliance", params=days, headers=op).json()
        assert report == [
            {
                "date": "2027-06-01", "zone": "east-village", "planned_min": 30.0,
                "aired_min": 30.0, "confirmed_min": 30.0, "extra_min": 0.0, "lost_min": 0.0,
                "lost": {},
                "reasons": [],
            },
            {
                "date": "2027-06-01", "zone": "market", "planned_min": 30.0, "aired_min": 0.0,
                "confirmed_min": 0.0, "extra_min": 0.0, "lost_min": 30.0, "lost": {"failed": 30.0},
                "reasons": ["继电器无响应 / relay timeout"],
            },
        ]  # fmt: skip
        admin = _auth(tok["admin"])
        got = client.get("/api/reports/compliance", params={**days, "format": "csv"}, headers=admin)
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        market = list(csv.DictReader(io.StringIO(got.text)))[1]
        assert (market["zone"], market["lost_failed_min"], market["aired_min"]) == (
            "market",
            "30.0",
            "0.0",
        )
