"""The web console's server side, in process: the status event stream and the blackout
preview (the page and its files are in test_console_page.py)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_cli_api import NightClock

import controller.api.console as console
from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config
from controller.records.audit import AuditLog


def _users(config: Path) -> dict[str, str]:
    """A user per role; returns their API tokens. The operator also gets a password."""
    db = load_config(config).config.station.data_dir / "broadcastctl.sqlite3"
    users = UserStore(db)
    tokens = {role: users.add(f"u-{role}", role) for role in ("admin", "operator", "police")}
    users.set_password("u-operator", "长城长 2027")
    users.close()
    return tokens


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _events(lines: Iterator[str], count: int) -> list[tuple[str, Any]]:
    """The next `count` SSE messages as (event or "comment" or "retry", data).

    The caller keeps `lines` (response.iter_lines()): dropping a half-read iterator closes
    the response."""
    out: list[tuple[str, Any]] = []
    event: dict[str, str] = {}
    for line in lines:
        if line.startswith(":"):
            out.append(("comment", line[1:].strip()))
        elif line.startswith("retry:"):
            out.append(("retry", int(line.split(":", 1)[1])))
        elif line.startswith(("event:", "data:")):
            key, _, value = line.partition(":")
            event[key] = value.strip()
        elif line == "" and event:
            out.append((event.get("event", "message"), json.loads(event["data"])))
            event = {}
        if len(out) >= count:
            break
    return out


# -- the event stream ----------------------------------------------------------------------------


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "TICK_S", 0.02)
    monkeypatch.setattr(console, "KEEPALIVE_S", 0.1)


def test_events_need_a_login_and_send_the_status_at_once(shipped: Path, quick: None) -> None:
    tokens = _users(shipped)
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        assert client.get("/api/events").status_code == 401
        login = client.post("/api/login", json={"user": "u-operator", "password": "长城长 2027"})
        assert login.status_code == 200, login.text
        assert "bcsession" in client.cookies
        with client.stream("GET", "/api/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-cache"
            (retry, _), (kind, status), (comment, text) = _events(stream.iter_lines(), 3)
        assert retry == "retry" and kind == "status" and (comment, text) == ("comment", "keepalive")
        assert status == client.get("/api/status").json()
        assert status["station"] == "石桥镇广电站" and status["now"] == "2027-06-01T03:00:00+08:00"

        client.cookies.clear()
        with client.stream("GET", "/api/events", headers=_bearer(tokens["police"])) as stream:
            assert stream.status_code == 200
            assert _events(stream.iter_lines(), 2)[1][0] == "status"


def test_events_follow_a_change(shipped: Path, quick: None) -> None:
    tokens = _users(shipped)
    admin = _bearer(tokens["admin"])
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        with client.stream("GET", "/api/events", headers=admin) as stream:
            lines = stream.iter_lines()
            first = _next_status(lines)
            assert [a["status"] for a in first["next"][:3]] == ["scheduled"] * 3
            quiet = {"name": "停电检修", "start": "2027-06-01T06:00", "end": "2027-06-01T23:00",
                     "zones": "all", "reason": "线路检修"}  # fmt: skip
            assert client.post("/api/blackouts", json=quiet, headers=admin).status_code == 201
            changed = _next_status(lines)
        assert [a["status"] for a in changed["next"][:3]] == ["blackout"] * 3


def _next_status(lines: Iterator[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith("data:"):
            found: dict[str, Any] = json.loads(line[5:])
            return found
    raise AssertionError("the stream ended")


def test_open_streams_are_capped(
    shipped: Path, quick: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = _users(shipped)
    monkeypatch.setattr(console, "MAX_STREAMS", 1)
    police = _bearer(tokens["police"])
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        with client.stream("GET", "/api/events", headers=police) as first:
            lines = first.iter_lines()
            assert _events(lines, 2)[1][0] == "status"
            refused = client.get("/api/events", headers=police)
            assert refused.status_code == 503 and "实时连接过多" in refused.text
            assert refused.headers["retry-after"] == "10"
        with client.stream("GET", "/api/events", headers=police) as again:  # its place came back
            assert again.status_code == 200


def test_a_stream_ends_when_the_server_is_stopping(
    shipped: Path, quick: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = _users(shipped)
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        with client.stream("GET", "/api/events", headers=_bearer(tokens["police"])) as stream:
            lines = stream.iter_lines()
            _next_status(lines)
            monkeypatch.setattr(console, "server_exiting", lambda: True)
            rest = list(lines)  # returns: the body ended by itself
        assert all(line.startswith(":") or not line for line in rest)


def test_a_stream_ends_after_its_maximum_age(
    shipped: Path, quick: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So a session ended meanwhile stops getting status: the browser reconnects, and is
    asked for its login again."""
    tokens = _users(shipped)
    monkeypatch.setattr(console, "MAX_STREAM_S", 0.3)
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        with client.stream("GET", "/api/events", headers=_bearer(tokens["police"])) as stream:
            lines = list(stream.iter_lines())  # returns: the body ended by itself
        assert "event: status" in lines and lines[0] == "retry: 1000"


class _FakeServer:
    should_exit = False

    def handle_exit(self, sig: int, frame: object) -> None:
        self.should_exit = True


def test_server_exiting_reads_uvicorns_signal_handler() -> None:
    assert console.server_exiting() is False  # pytest's own handler: not a server
    server = _FakeServer()
    previous = signal.signal(signal.SIGTERM, server.handle_exit)
    try:
        assert console.server_exiting() is False
        server.should_exit = True
        assert console.server_exiting() is True
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- the blackout preview ------------------------------------------------------------------------

MARKET_NOON = {
    "name": "集镇检修",
    "start": "2027-06-12T11:00:00",
    "end": "2027-06-12T14:00:00",
    "zones": ["market"],
    "reason": "线路检修",
}


def test_the_preview_lists_the_silenced_airings_and_stores_nothing(shipped: Path) -> None:
    tokens = _users(shipped)
    admin = _bearer(tokens["admin"])
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        before = client.get("/api/blackouts", headers=admin).json()
        plan_before = client.get("/api/plan", params={"from": "2027-06-12", "days": 1}).json()

        day = {**MARKET_NOON, "name": "中考", "start": "2027-06-12T00:00",
               "end": "2027-06-13T00:00", "zones": "all"}  # fmt: skip
        got = client.post("/api/blackouts/preview", json=day, headers=admin)
        assert got.status_code == 200, got.text
        body = got.json()
        assert (body["start"], body["end"], body["zones"], body["threshold"]) == (
            "2027-06-12T00:00:00+08:00", "2027-06-13T00:00:00+08:00", "all", 100,
        )  # fmt: skip
        assert [(a["slot"], a["status"]) for a in body["silences"]] == [
            ("早间", "blackout"),
            ("午间", "blackout"),
            ("晚间", "blackout"),
        ]
        assert {z["blackout"] for a in body["silences"] for z in a["zones"]} == {"中考"}

        # One zone at noon: the airing is cut there only, as the plan would show it.
        (noon,) = client.post("/api/blackouts/preview", json=MARKET_NOON, headers=admin).json()[
            "silences"
        ]
        assert noon["slot"] == "午间" and noon["status"] == "cut"
        assert {z["zone"]: z["status"] for z in noon["zones"]} == {
            "east-village": "scheduled", "west-village": "scheduled", "market": "blackout",
        }  # fmt: skip

        # A threshold at the schedule's priority lets the schedule through.
        low = client.post("/api/blackouts/preview", json={**day, "threshold": 50}, headers=admin)
        assert low.status_code == 200 and low.json()["silences"] == []

        # Stored: nothing. The plan: unchanged.
        assert client.get("/api/blackouts", headers=admin).json() == before
        assert client.get("/api/plan", params={"from": "2027-06-12", "days": 1}).json() == (
            plan_before
        )

        # Admin only, and bad input is refused like POST /api/blackouts refuses it.
        for role in ("operator", "police"):
            refused = client.post("/api/blackouts/preview", json=day, headers=_bearer(tokens[role]))
            assert refused.status_code == 403
        assert client.post("/api/blackouts/preview", json=day).status_code == 401
        backwards = {**day, "end": day["start"]}
        bad = client.post("/api/blackouts/preview", json=backwards, headers=admin)
        assert bad.status_code == 422 and "结束时间须晚于开始时间" in bad.text
        bad = client.post("/api/blackouts/preview", json={**day, "zones": ["moon"]}, headers=admin)
        assert bad.status_code == 422 and "未知区域 moon" in bad.text
        bad = client.post("/api/blackouts/preview", json={**day, "threshold": 300}, headers=admin)
        assert bad.status_code == 422

    audit = AuditLog(load_config(shipped).config.station.data_dir / "broadcastctl.sqlite3")
    actions = {e.action for e in audit.list()}
    audit.close()
    assert not any(a.startswith("blackout") for a in actions)


def test_the_preview_with_a_console_session_needs_the_csrf_header(shipped: Path) -> None:
    db = load_config(shipped).config.station.data_dir / "broadcastctl.sqlite3"
    users = UserStore(db)
    users.add("boss", "admin")
    users.set_password("boss", "s3cret-enough")
    users.close()
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        login = {"user": "boss", "password": "s3cret-enough"}
        assert client.post("/api/login", json=login).is_success
        plain = client.post("/api/blackouts/preview", json=MARKET_NOON)
        assert plain.status_code == 403
        sent = client.post(
            "/api/blackouts/preview",
            json=MARKET_NOON,
            headers={"X-Requested-With": "broadcastctl"},
        )
        assert sent.status_code == 200 and len(sent.json()["silences"]) == 1
