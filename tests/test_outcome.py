"""One outcome model (issue 11, item 1): an airing's state comes from its as-run rows and the
engine's answer, never from the clock alone. A pure table first, then the console's own
questions on a station in-process (virtual clock, fake relays): a manual airing with every
relay offline is `failed`, not 已播完; one that waited behind another until its window closed
is `never_aired`, not "被打断，等待恢复" then 已播完; "next" never shows a time that has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clocks import VirtualAlarm
from fastapi.testclient import TestClient
from rig_overrides import client_for, make_station

from controller.records.asrun_row import AsRunRow
from controller.records.outcome import WORDS, airing_view

__all__ = ["client_for"]  # the fixture, imported so pytest finds it here

T = datetime(2027, 6, 1, 4, 0, tzinfo=UTC)
END = T + timedelta(minutes=30)


def row(
    zone: str, outcome: str | None, reason: str = "", segment: int = 0, audio: bool = False
) -> AsRunRow:
    airing = "ov:abc" + (f"#r{segment}" if segment else "")
    return AsRunRow(
        airing, "手动插播", zone, T, END, END, "p", "done" if outcome else "on_air", None, None,
        T if audio else None, None, None, None, None, None, [], outcome, reason,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "now", "engine", "state", "zones"),
    [
        ([], T - timedelta(minutes=1), "", "scheduled", ()),
        ([], T + timedelta(minutes=5), "waiting", "waiting", ()),
        ([], END + timedelta(seconds=1), "", "never_aired", ()),  # waited out its window
        ([row("e", None), row("w", None)], T, "", "on_air", ()),
        ([row("e", "aired"), row("w", "joined")], END, "", "aired", ()),
        ([row("e", "aired"), row("w", "failed", "继电器未确认")], END, "", "aired_partly", ("w",)),
        ([row("e", "failed", "x"), row("w", "failed", "x")], END, "", "failed", ()),
        ([row("e", "preempted", audio=True), row("e", "resumed", segment=1)], END, "", "aired",
         ()),
        ([row("e", "preempted", audio=True)], END, "", "preempted", ()),  # no resume came
        ([row("e", "preempted")], END, "", "never_aired", ()),  # held back before it began
        ([row("e", "preempted"), row("w", "stopped")], END, "", "stopped", ()),
        ([row("e", "cut"), row("w", "blacked_out")], END, "", "cut", ()),
        ([row("e", "missed")], END, "", "missed", ()),
        ([row("e", "aired"), row("w", "aired")], END, "on_air", "on_air", ()),  # postroll
    ],
)  # fmt: skip
def test_the_state_is_what_the_rows_say(
    rows: list[AsRunRow], now: datetime, engine: str, state: str, zones: tuple[str, ...]
) -> None:
    view = airing_view(
        rows, now=now, end=END, on_air=engine == "on_air", waiting=engine == "waiting"
    )
    assert (view.state, view.failed_zones) == (state, zones)
    assert view.words == WORDS[view.state]
    if state in ("aired_partly", "failed"):
        assert view.reason  # why, from the rows


def manual(client: TestClient, op: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {"playlist": "p", "reason": "演示", "duration_s": 3, **extra}
    answer = client.post("/api/airings", json=body, headers=op)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


@pytest.fixture
def desk(tmp_path: Any, client_for: Any) -> tuple[TestClient, dict[str, str]]:
    """The station's app with nothing scheduled, and an operator's credentials."""
    station, tokens, _clip = make_station(tmp_path, [])
    return client_for(station), {"Authorization": f"Bearer {tokens['operator']}"}


def test_a_manual_airing_with_every_relay_offline_is_failed_and_not_next(
    desk: tuple[TestClient, dict[str, str]], me: VirtualAlarm
) -> None:
    client, op = desk
    relay = client.app_state["services"].local.relays["v"]
    relay.failing_channels |= {1, 2, 3}  # every zone and the amplifier: nothing confirms
    made = manual(client, op)
    me.pause(8.0)  # past its end and postroll
    (shown,) = [o for o in client.get("/api/airings", headers=op).json() if o["id"] == made["id"]]
    assert shown["state"] == "failed", shown
    assert shown["aired"]["words"] == "播出失败" and shown["aired"]["reason"]
    status = client.get("/api/status", headers=op).json()
    now = datetime.fromisoformat(status["now"])
    assert all(datetime.fromisoformat(a["start"]) >= now for a in status["next"]), status["next"]


def test_an_airing_that_waited_out_its_window_never_aired(
    desk: tuple[TestClient, dict[str, str]], me: VirtualAlarm
) -> None:
    client, op = desk
    first = manual(client, op, duration_s=8)
    second = manual(client, op, duration_s=3)  # same priority: it waits behind the first
    me.pause(3.0)
    waiting = {o["id"]: o for o in client.get("/api/airings", headers=op).json()}[second["id"]]
    assert waiting["state"] == "waiting", waiting
    assert waiting["aired"]["reason"] == (
        f"排在 {first['airing_id']} 之后 / waiting behind {first['airing_id']}"
    )  # why, and behind what
    me.pause(11.0)
    states = {o["id"]: o for o in client.get("/api/airings", headers=op).json()}
    assert states[first["id"]]["state"] == "aired", states[first["id"]]
    assert states[second["id"]]["state"] == "never_aired", states[second["id"]]
    assert states[second["id"]]["aired"]["words"] == "未能播出（时段已过）"
    assert "preempted by manual airing" in states[second["id"]]["aired"]["reason"]  # behind what
