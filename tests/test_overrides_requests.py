"""Emergency and override requests on a running station (in-process, fake relays, air-check
files): a drill in a blackout is marked as one and airs past the blackout's threshold, which
holds back a manual airing below it, and a CAP cancel ends the drill; override requests are
checked, and a bad one is refused.

The app runs on the virtual clock (tests/rig_overrides.py), which this test thread holds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from clocks import VirtualAlarm, VirtualClock
from rig_overrides import auth, client_for, make_station, rows_by, soon

__all__ = ["client_for"]  # the fixture, imported so pytest finds it here


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
