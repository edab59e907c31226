"""The priority ladder on a running station (in-process, fake relays, air-check files): an
emergency preempts a slot and the slot resumes, also across a restart; 停播, also during an
emergency; a blackout entered while on air cuts it. A drill cancelled by CAP, and the checks on
override requests: test_overrides_requests.py.

The app runs on the virtual clock (tests/clocks.py): this test thread holds the clock, so
virtual time moves only while it pauses, and an airing of 12 s takes milliseconds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ids
from clocks import VirtualAlarm, VirtualClock
from peers.daemon import SH
from rig_overrides import auth, client_for, make_station, rows_by, soon

__all__ = ["client_for"]  # the fixture, imported so pytest finds it here

RATE = 48000


def slot(name: str, start: datetime, seconds: float, zones: Any = "all") -> dict[str, Any]:
    return {"name": name, "start": f"{start:%H:%M:%S}", "duration": f"{seconds}s",
            "playlist": "p", "zones": zones}  # fmt: skip


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
