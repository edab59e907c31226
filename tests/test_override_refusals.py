"""A refused request changes nothing (issue 11, item 2): every override route is checked through
before it touches the air, the screens, the stored overrides or the audit trail. An update to
an emergency that fails its checks leaves the alert it refers to on air.

In-process (fake relays and screen, air-checks in files) on the virtual clock."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from clocks import VirtualAlarm, VirtualClock
from fastapi.testclient import TestClient
from peers.daemon import StationDir

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config

ALERT = {"identifier": "A1", "status": "actual", "zones": ["east"], "playlist": "p",
         "repeats": 30, "reason": "电诈预警"}  # fmt: skip


@pytest.fixture
def station(tmp_path: Any) -> StationDir:
    station = StationDir(tmp_path)
    station.write_config({
        "relays": [{"id": "v", "type": "fake", "channels": 2}],
        "zones": [{"id": "east", "name": "东村", "relays": ["v:1"]},
                  {"id": "west", "name": "西村", "relays": ["v:2"]}],
        "schedule": {"preroll_s": 0.5, "postroll_s": 0.2, "slots": []},
        "displays": [{"id": "square", "type": "fake", "width": 128, "height": 32,
                      "charset": "gb2312"}],
    })  # fmt: skip
    return station


@pytest.fixture
def client(station: StationDir, clock: VirtualClock, me: VirtualAlarm) -> Iterator[TestClient]:
    app = create_app(load_config(station.root / "config.yaml"), clock)
    with TestClient(app, backend_options=dict(clock.backend())) as made:
        yield made


@pytest.fixture
def op(station: StationDir) -> dict[str, str]:
    """An operator's credentials."""
    users = UserStore(station.db)
    made = users.add("duty", "operator")
    users.close()
    return {"Authorization": f"Bearer {made}"}


def everything(station: StationDir, client: TestClient, op: dict[str, str]) -> dict[str, Any]:
    """What a request could have changed: the overrides and their states, the audit trail,
    what is on air and what the screen is told to show."""
    with sqlite3.connect(f"file:{station.db}?mode=ro", uri=True) as db:
        audit = db.execute("SELECT action, target FROM audit ORDER BY id").fetchall()
    status = client.get("/api/status", headers=op).json()
    return {
        "airings": [(a["id"], a["state"]) for a in client.get("/api/airings", headers=op).json()],
        "audit": audit,
        "on_air": sorted((a["id"], a["phase"]) for a in status["on_air"]),
        "screens": [(d["id"], d["mode"], d["text"]) for d in status["displays"]],
    }


def test_an_update_that_fails_its_checks_leaves_the_alert_it_refers_to_on_air(
    station: StationDir, client: TestClient, op: dict[str, str], me: VirtualAlarm
) -> None:
    assert client.post("/api/emergency", json=ALERT, headers=op).status_code == 201
    me.pause(3.0)  # A1 on air
    before = everything(station, client, op)
    assert [phase for _id, phase in before["on_air"]] == ["on_air"]
    update = {**ALERT, "identifier": "A2", "msgType": "update", "references": ["A1"]}
    bad = [
        {**update, "zones": ["north"]},  # no such zone
        {**update, "playlist": "nope"},  # no such playlist
        {**update, "playlist": None},  # no audio at all
        {**update, "led_text": "注意€诈骗"},  # a character the screen cannot show
        {**update, "expires": "2000-01-01T00:00:00"},  # over before it could start
        {**update, "repeats": 1e999},  # not a number it can take
    ]
    for body in bad:
        answer = post(client, "/api/emergency", body, op)
        assert answer.status_code in (404, 422), (body, answer.text)
        me.pause(0.5)
        assert everything(station, client, op) == before, body
    # the same update, valid, replaces A1 (and only now is A1 ended)
    good = client.post("/api/emergency", json=update, headers=op)
    assert good.status_code == 201, good.text
    states = dict(everything(station, client, op)["airings"])
    assert len(states) == 2 and "stopped" in states.values(), states


def test_refused_manual_airings_stops_and_cancels_change_nothing(
    station: StationDir, client: TestClient, op: dict[str, str], me: VirtualAlarm
) -> None:
    before = everything(station, client, op)
    refused = [
        ("post", "/api/airings", {"playlist": "p", "reason": "x", "zones": ["north"]}),
        ("post", "/api/airings", {"playlist": "p", "reason": "x", "led_text": "€"}),
        ("post", "/api/airings", {"playlist": "p", "reason": "x", "start": "0001-01-01T00:00"}),
        ("post", "/api/airings", {"playlist": "p", "reason": "\x00" * 600}),
        ("post", "/api/emergency", {**ALERT, "msgType": "cancel"}),  # no references
        ("post", "/api/emergency", {**ALERT, "interval_s": float("nan")}),
        ("post", "/api/stop", {"reason": "x" * 5000}),
        ("delete", "/api/airings/ov:nothing-here", None),
    ]
    for method, path, body in refused:
        if method == "post":
            answer = post(client, path, body, op)
        else:
            answer = client.delete(path, headers=op)
        assert 400 <= answer.status_code < 500, (path, body, answer.text)
        me.pause(0.2)
        assert everything(station, client, op) == before, (path, body)


def post(client: TestClient, path: str, body: Any, op: dict[str, str]) -> Any:
    """POST `body` as JSON, NaN and infinities written as Python writes them (the API must
    refuse them, not fail on them)."""
    headers = {**op, "Content-Type": "application/json"}
    return client.post(path, content=json.dumps(body, allow_nan=True), headers=headers)
