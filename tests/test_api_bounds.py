"""Numbers and dates outside what the station can mean get a 422 naming the field, Chinese
first, and change nothing: NaN, ±inf, 1e999, year 1, a start long past or years ahead."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_api_media import NightClock

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config


@pytest.fixture
def client(shipped: Path) -> Iterator[tuple[TestClient, Path]]:
    db = shipped.parent / "var" / "broadcastctl.sqlite3"
    users = UserStore(db)
    token = users.add("zhao", "admin")
    users.close()
    app = create_app(load_config(shipped), NightClock())
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c, db


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


AIRING = {"playlist": "anti-fraud", "reason": "测试"}
ALERT = {"identifier": "t-1", "status": "exercise", "playlist": "anti-fraud", "reason": "测试"}
BAD_NUMBERS = ["1e999", "-1e999", "NaN", "Infinity"]


@pytest.mark.parametrize("number", BAD_NUMBERS)
@pytest.mark.parametrize(
    ("path", "base", "field"),
    [
        ("/api/airings", AIRING, "duration_s"),
        ("/api/airings", AIRING, "repeats"),
        ("/api/airings", AIRING, "priority"),
        ("/api/emergency", ALERT, "interval_s"),
        ("/api/emergency", ALERT, "repeats"),
        ("/api/led/messages", {"text": "测试"}, "minutes"),
    ],
)
def test_non_finite_numbers_get_422(
    client: tuple[TestClient, Path], path: str, base: dict[str, Any], field: str, number: str
) -> None:
    c, db = client
    before = {t: _count(db, t) for t in ("overrides", "audit")}
    raw = f'{{"{field}": {number}, {json.dumps(base)[1:]}'
    r = c.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", field]
    assert error["msg"].startswith("须为有限数值 / ")  # Chinese first
    assert {t: _count(db, t) for t in before} == before


@pytest.mark.parametrize(
    "query",
    [
        "/api/audit?since=0001-01-01T00:00:00",
        "/api/audit?since=9999-12-31T23:59:59",
        "/api/asrun?from=0001-01-01&to=0001-01-02",
        "/api/asrun?from=9999-12-30",
        "/api/reports/compliance?from=1999-12-31",
        "/api/reports/compliance?from=2199-12-31&to=2200-01-01",
        "/api/plan?from=0001-01-01",
    ],
)
def test_dates_outside_the_stations_years_get_422(
    client: tuple[TestClient, Path], query: str
) -> None:
    r = client[0].get(query)
    assert r.status_code == 422, r.text
    assert "2000–2199" in r.text


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"start": "0001-01-01T00:00:00"}, "2000–2199"),
        ({"start": "9999-12-31T23:59:59+14:00"}, "2000–2199"),
        ({"start": "2027-06-01T02:00:00"}, "过去"),  # an hour before the clock's 03:00
        ({"start": "2029-06-01T03:00:00"}, "天以内"),
        ({"expires": "0001-01-01T00:00:00+14:00"}, "2000–2199"),
        ({"expires": "2027-06-01T02:59:00"}, "过期"),
    ],
)
def test_override_times_far_off_get_422_and_store_nothing(
    client: tuple[TestClient, Path], extra: dict[str, str], says: str
) -> None:
    c, db = client
    r = c.post("/api/airings", json={**AIRING, **extra})
    assert r.status_code == 422, r.text
    assert says in r.text
    assert _count(db, "overrides") == 0


def test_a_start_a_minute_ago_means_now(client: tuple[TestClient, Path]) -> None:
    r = client[0].post("/api/airings", json={**AIRING, "start": "2027-06-01T02:59:00"})
    assert r.status_code == 201, r.text


def test_emergency_expiry_in_year_one_gets_422(client: tuple[TestClient, Path]) -> None:
    c, db = client
    r = c.post("/api/emergency", json={**ALERT, "expires": "0001-01-01T00:00:00"})
    assert r.status_code == 422, r.text
    assert _count(db, "overrides") == 0
