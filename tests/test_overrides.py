"""The priority ladder on a running station (in-process, fake relays, air-check files): an
emergency preempts a slot and the slot resumes; 停播; a drill cancelled by CAP; a blackout
entered while on air cuts it; the emergency passes a blackout below its threshold.

The app runs on the virtual clock (tests/clocks.py): this test thread holds the clock, so
virtual time moves only while it pauses, and an airing of 12 s takes milliseconds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ids
import pytest
from clocks import VirtualAlarm, VirtualClock
from fastapi.testclient import TestClient
from media_files import tone
from peers.daemon import SH, StationDir

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config
from controller.media.library import MediaLibrary

RATE = 48000


def make_station(
    tmp: Path, slots: list[dict[str, Any]], blackouts: list[dict[str, Any]] | None = None
) -> tuple[StationDir, dict[str, str], str]:
    station = StationDir(tmp)
    station.write_config(
        {
            "audio": {"output": {"type": "file", "dir": "var/aircheck"}, "fade_out_s": 0.2,
                      "gap_s": 0.2},
            "relays": [{"id": "v", "type": "fake", "channels": 3}],
            "amplifiers": [{"relay": "v:3"}],
            "zones": [
                {"id": "east", "name": "东村", "relays": ["v:1"]},
                {"id": "west", "name": "西村", "relays": ["v:2"]},
            ],
            "schedule": {"preroll_s": 0.5, "postroll_s": 0.2, "min_join_s": 1, "slots": slots},
            "displays": [{"id": "square", "type": "fake", "width": 128, "height": 32}],
            "led": {"dwell_s": 30},
            "blackouts": blackouts or [],
        }
    )  # fmt: skip
    cfg = load_config(station.root / "config.yaml").config
    library = MediaLibrary(station.db, cfg.station.media_dir, cfg.media)
    clip, _ = library.ingest(tone(tmp / "alarm.wav", seconds=1.5, freq=800), title="紧急",
                             uploader="police1", source="upload", original_name="alarm.wav",
                             tags=["紧急"], approved=True)  # fmt: skip
    library.close()
    users = UserStore(station.db)
    tokens = {role: users.add(f"u-{role}", role) for role in ("admin", "operator", "police")}
    users.close()
    return station, tokens, clip.id


def slot(name: str, start: datetime, seconds: float, zones: Any = "all") -> dict[str, Any]:
    return {"name": name, "start": f"{start:%H:%M:%S}", "duration": f"{seconds}s",
            "playlist": "p", "zones": zones}  # fmt: skip


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def soon(clock: VirtualClock, seconds: float) -> datetime:
    return clock.now().astimezone(SH).replace(microsecond=0) + timedelta(seconds=seconds)


@pytest.fixture
def client_for(clock: VirtualClock, me: VirtualAlarm) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(station: StationDir) -> TestClient:
        app = create_app(load_config(station.root / "config.yaml"), clock)
        client = TestClient(app, backend_options=dict(clock.backend()))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        with contextlib.suppress(RuntimeError):  # one a test stopped itself
            client.__exit__(None, None, None)


def rows_by(station: StationDir) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["airing_id"], r["zone"]): r for r in station.rows()}


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def test_an_emergency_preempts_a_slot_which_then_resumes(
    tmp_path: Path, client_for: Any, clock: VirtualClock, me: VirtualAlarm
) -> None:
    start = soon(clock, 4)
    station, tokens, clip_id = make_station(tmp_path, [slot("午间", start, 12)])
    client = client_for(station)
    op = auth(tokens["operator"])
    me.pause_until(start + timedelta(seconds=2.5))
    alert = {
        "identifier": "gongan-2026-0001", "status": "actual", "msgType": "alert",
        "zones": ["east"], "clips": [clip_id], "repeats": 2, "interval_s": 0.5,
        "led_text": "紧急通知：请勿转账", "reason": "电诈预警",
    }  # fmt: skip
    first = client.post("/api/emergency", json=alert, headers=op)
    assert first.status_code == 201, first.text
    again = client.post("/api/emergency", json=alert, headers=op)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(client.get("/api/airings", headers=op).json()) == 1  # aired once
    me.pause(1.0)
    status = client.get("/api/status").json()
    (on_air,) = [a for a in status["on_air"] if a["phase"] == "on_air"]
    assert on_air["source"] == "emergency" and on_air["priority"] == 100
    assert [z["id"] for z in on_air["zones"]] == ["east"]
    assert status["displays"][0]["text"] == "紧急通知：请勿转账"
    me.pause_until(start + timedelta(seconds=12.8))
    rows = rows_by(station)
    slot_id = ids.slot("午间", start)
    ov = first.json()["airing_id"]
    assert rows[(slot_id, "east")]["outcome"] == "preempted"
    assert "紧急插播" in rows[(slot_id, "east")]["reason"]
    assert rows[(slot_id, "east")]["relay_off"] == "handed_over"  # east stayed on
    assert rows[(slot_id, "west")]["outcome"] == "preempted"
    assert rows[(slot_id, "west")]["relay_off"] == "confirmed"  # west went quiet
    assert (rows[(ov, "east")]["outcome"], rows[(ov, "east")]["source"]) == ("aired", "emergency")
    assert (ov, "west") not in rows
    emergency_end = at(rows[(ov, "east")]["audio_end"])
    for zone in ("east", "west"):
        resumed = rows[(ids.resumed(slot_id), zone)]
        assert resumed["outcome"] == "resumed", resumed
        assert 0 < (at(resumed["audio_start"]) - emergency_end).total_seconds() <= 1.0
        assert abs(at(resumed["audio_end"]) - (start + timedelta(seconds=12))).total_seconds() < 0.1
    # the emergency: two repeats of 1.5 s, each followed by its 0.5 s gap
    assert rows[(ov, "east")]["frames"] == 4 * RATE
    assert [c["file"] for c in rows[(ov, "east")]["clips"]] == [
        f"library/{clip_id}/normalised.wav"
    ] * 2
    # the screens show the slogans again after the emergency
    assert client.get("/api/status").json()["displays"][0]["text"] != "紧急通知：请勿转账"


def test_stop_silences_the_slot_and_it_does_not_resume(
    tmp_path: Path, client_for: Any, clock: VirtualClock, me: VirtualAlarm
) -> None:
    start = soon(clock, 4)
    station, tokens, _ = make_station(tmp_path, [slot("晚间", start, 8)])
    client = client_for(station)
    me.pause_until(start + timedelta(seconds=1.5))
    assert (
        client.post("/api/stop", json={"reason": "x"}, headers=auth(tokens["police"])).status_code
        == 403
    )
    answer = client.post(
        "/api/stop", json={"reason": "村委会通知停播"}, headers=auth(tokens["operator"])
    )
    assert answer.status_code == 200
    assert answer.json()["stopped"] == [ids.slot("晚间", start)]
    me.pause(1.0)
    assert [a for a in client.get("/api/status").json()["on_air"] if a["phase"] != "done"] == []
    rows = station.rows()
    assert {r["outcome"] for r in rows} == {"stopped"}
    assert all("村委会通知停播" in r["reason"] and "u-operator" in r["reason"] for r in rows)
    assert all(r["relay_off"] == "confirmed" for r in rows)
    audit = client.get("/api/audit", headers=auth(tokens["admin"])).json()
    assert any(e["action"] == "stop" for e in audit)


def test_a_drill_in_a_blackout_is_marked_and_a_cap_cancel_ends_it(
    tmp_path: Path, client_for: Any, clock: VirtualClock, me: VirtualAlarm
) -> None:
    now = soon(clock, 0)
    quiet = {"name": "高考", "start": f"{now - timedelta(hours=1):%Y-%m-%dT%H:%M:%S}",
             "end": f"{now + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}"}  # fmt: skip
    station, tokens, clip_id = make_station(tmp_path, [], blackouts=[quiet])
    client = client_for(station)
    op = auth(tokens["operator"])
    manual = client.post(
        "/api/airings", headers=op,
        json={"clips": [clip_id], "zones": "all", "reason": "测试", "priority": 80},
    )  # fmt: skip
    assert manual.status_code == 201, manual.text
    drill = client.post("/api/emergency", headers=op, json={
        "identifier": "drill-1", "status": "exercise", "zones": "all", "clips": [clip_id],
        "repeats": 10, "reason": "季度演练", "led_text": "防诈演练",
    })  # fmt: skip
    assert drill.status_code == 201, drill.text
    me.pause(2.5)
    assert client.get("/api/status").json()["displays"][0]["text"] == "演练：防诈演练"
    cancel = client.post("/api/emergency", headers=op, json={
        "identifier": "drill-1-cancel", "status": "exercise", "msgType": "cancel",
        "references": ["drill-1"], "reason": "演练结束",
    })  # fmt: skip
    assert cancel.status_code == 200 and cancel.json()["cancelled"] == ["drill-1"]
    me.pause(1.0)
    rows = rows_by(station)
    ov = drill.json()["airing_id"]
    for zone in ("east", "west"):
        row = rows[(ov, zone)]
        assert (row["outcome"], row["exercise"], row["priority"]) == ("stopped", 1, 100)
        assert row["audio_start"] is not None and row["relay_off"] == "confirmed"
    # the manual airing (priority 80) stays silent: the blackout's threshold is 100
    manual_rows = [r for (a, _), r in rows.items() if a == manual.json()["airing_id"]]
    assert {r["outcome"] for r in manual_rows} == {"blacked_out"}
    states = {o["identifier"]: o["state"] for o in client.get("/api/airings", headers=op).json()}
    assert states["drill-1"] == "stopped"
    assert client.get("/api/status").json()["displays"][0]["text"] != "演练：防诈演练"


def test_a_blackout_entered_while_on_air_cuts_the_airing(
    tmp_path: Path, client_for: Any, clock: VirtualClock, me: VirtualAlarm
) -> None:
    start = soon(clock, 4)
    station, tokens, _ = make_station(tmp_path, [slot("早间", start, 10)])
    client = client_for(station)
    me.pause_until(start + timedelta(seconds=1))
    cut_at = (clock.now().astimezone(SH) + timedelta(seconds=2)).replace(microsecond=0)
    made = client.post("/api/blackouts", headers=auth(tokens["admin"]), json={
        "name": "临时静默", "start": cut_at.isoformat(),
        "end": (cut_at + timedelta(hours=1)).isoformat(), "zones": ["west"],
    })  # fmt: skip
    assert made.status_code == 201, made.text
    me.pause_until(start + timedelta(seconds=11))
    rows = {r["zone"]: r for r in station.rows()}
    assert rows["west"]["outcome"] == "cut" and "临时静默" in rows["west"]["reason"]
    assert abs((at(rows["west"]["audio_end"]) - cut_at).total_seconds()) < 0.3
    assert rows["east"]["outcome"] == "aired"
    assert (
        abs((at(rows["east"]["audio_end"]) - (start + timedelta(seconds=10))).total_seconds()) < 0.1
    )


def test_override_requests_are_checked(
    tmp_path: Path, client_for: Any, clock: VirtualClock, me: VirtualAlarm
) -> None:
    station, tokens, clip_id = make_station(tmp_path, [])
    client = client_for(station)
    op = auth(tokens["operator"])
    bad = [
        ({"clips": [clip_id], "reason": "x", "priority": 90}, 422),  # above police
        ({"clips": [clip_id], "playlist": "p", "reason": "x"}, 422),  # both
        ({"clips": ["0123456789ab"], "reason": "x"}, 404),  # no such clip
        ({"playlist": "nope", "reason": "x"}, 404),
        ({"clips": [clip_id], "zones": ["north"], "reason": "x"}, 422),
        ({"clips": [clip_id], "reason": "x", "duration_s": 5, "repeats": 2}, 422),
        ({"clips": [clip_id]}, 422),  # no reason
        ({"clips": [clip_id], "reason": "x", "start": "9999-12-31T00:00:00"}, 422),  # far off
    ]
    for body, code in bad:
        answer = client.post("/api/airings", json=body, headers=op)
        assert answer.status_code == code, (body, answer.text)
    assert client.post("/api/airings", json={"playlist": "p", "reason": "x"},
                       headers=auth(tokens["police"])).status_code == 403  # fmt: skip
    update = {"identifier": "u1", "status": "actual", "msgType": "update", "clips": [clip_id],
              "reason": "x"}  # fmt: skip
    assert client.post("/api/emergency", json=update, headers=op).status_code == 422
    assert client.delete("/api/airings/nothing", headers=op).status_code == 404
    assert client.get("/api/airings", headers=op).json() == []


def test_after_a_restart_the_emergency_goes_on_and_the_slot_resumes(
    tmp_path: Path, client_for: Any, clock: VirtualClock, me: VirtualAlarm
) -> None:
    start = soon(clock, 4)
    station, tokens, clip_id = make_station(tmp_path, [slot("午间", start, 15)])
    client = client_for(station)
    me.pause_until(start + timedelta(seconds=1.5))
    alert = client.post("/api/emergency", headers=auth(tokens["operator"]), json={
        "identifier": "restart-1", "status": "actual", "zones": "all", "clips": [clip_id],
        "repeats": 4, "interval_s": 0.5, "reason": "电诈预警",
    })  # fmt: skip
    assert alert.status_code == 201, alert.text
    me.pause_until(start + timedelta(seconds=4))
    client.__exit__(None, None, None)  # the daemon stops mid-emergency…
    client_for(station)  # …and starts again
    ov, slot_id = alert.json()["airing_id"], ids.slot("午间", start)
    me.pause_until(start + timedelta(seconds=15.5))
    rows = rows_by(station)
    for zone in ("east", "west"):
        assert rows[(slot_id, zone)]["outcome"] == "preempted"
        assert rows[(ov, zone)]["outcome"] == "joined", rows[(ov, zone)]
        resumed = rows[(ids.resumed(slot_id), zone)]
        assert resumed["outcome"] == "resumed", resumed
        assert at(resumed["audio_start"]) >= at(rows[(ov, zone)]["audio_end"])
        assert (
            abs((at(resumed["audio_end"]) - (start + timedelta(seconds=15))).total_seconds()) < 0.1
        )


def test_stop_during_an_emergency_also_ends_the_slot_it_displaced(
    tmp_path: Path, client_for: Any, clock: VirtualClock, me: VirtualAlarm
) -> None:
    start = soon(clock, 4)
    station, tokens, clip_id = make_station(tmp_path, [slot("午间", start, 12)])
    client = client_for(station)
    op = auth(tokens["operator"])
    me.pause_until(start + timedelta(seconds=1.5))
    alert = client.post("/api/emergency", headers=op, json={
        "identifier": "stop-1", "status": "actual", "zones": "all", "clips": [clip_id],
        "repeats": 3, "reason": "电诈预警",
    })  # fmt: skip
    assert alert.status_code == 201, alert.text
    me.pause(1.5)
    stopped = client.post("/api/stop", headers=op, json={"reason": "误播"})
    assert stopped.json()["stopped"] == [alert.json()["airing_id"]]
    client.__exit__(None, None, None)
    client_for(station)  # a restart must not bring the displaced slot back either
    me.pause_until(start + timedelta(seconds=6))
    outcomes = {(r["airing_id"], r["zone"]): r["outcome"] for r in station.rows()}
    slot_id, ov = ids.slot("午间", start), alert.json()["airing_id"]
    assert outcomes == {
        (slot_id, "east"): "preempted", (slot_id, "west"): "preempted",
        (ov, "east"): "stopped", (ov, "west"): "stopped",
    }  # fmt: skip
