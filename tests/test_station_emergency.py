"""An emergency (紧急插播) on one village of a slot on air, down to the relays: that village
never goes off between the two and starts without a preroll; the other goes quiet for the
emergency and comes back on for the slot, which resumes on both after it.

The end-to-end station (two villages, two amplifiers with their settle, tests/peers/daemon.py
`two_villages`) on fake boards, its API and engine in-process on the virtual clock
(tests/clocks.py): this test thread holds the clock, so time moves only while it pauses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import ids
from clocks import VirtualAlarm, VirtualClock
from fastapi.testclient import TestClient
from peers.daemon import POSTROLL, PREROLL, SH, StationDir, slot
from peers.engine import Switch, fake_villages, record_switches

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config


def times(switches: list[Switch], relay: str, on: bool, since: datetime) -> list[datetime]:
    return [s.at for s in switches if (s.relay, s.on) == (relay, on) and s.at > since]


def near(actual: datetime, expected: datetime, tol: float = 0.5) -> bool:
    return abs((actual - expected).total_seconds()) <= tol


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def test_an_emergency_takes_one_zone_and_the_slot_resumes_after_it(
    tmp_path: Path, clock: VirtualClock, me: VirtualAlarm
) -> None:
    t = clock.now().astimezone(SH).replace(microsecond=0) + timedelta(seconds=9)
    station = StationDir(tmp_path)
    fake_villages(station, [slot("午间", t, 9)])
    users = UserStore(station.db)
    token = users.add("duty", "operator")
    users.close()
    app = create_app(load_config(station.root / "config.yaml"), clock)
    with TestClient(app, backend_options=dict(clock.backend())) as client:
        switches = record_switches(client.app_state["services"].local)
        me.pause_until(t + timedelta(seconds=2.0))
        asked = clock.now()
        answer = client.post("/api/emergency", json={
            "identifier": "e2e-1", "status": "actual", "zones": ["east"], "playlist": "p",
            "repeats": 1, "interval_s": 0.5, "reason": "电诈预警",
        }, headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 201, answer.text
        alert = answer.json()
        me.pause_until(t + timedelta(seconds=9 + POSTROLL + 1.5))
        switches = list(switches)  # what the relays were told before the engine stops

    rows = {(r["airing_id"], r["zone"]): r for r in station.rows()}
    slot_id, ov = ids.slot("午间", t), alert["airing_id"]
    assert rows[(slot_id, "east")]["outcome"] == "preempted"
    assert rows[(slot_id, "west")]["outcome"] == "preempted"
    assert rows[(ov, "east")]["outcome"] == "aired"
    assert rows[(ov, "east")]["relay_on"] == "confirmed"
    emergency_start = at(rows[(ov, "east")]["audio_start"])
    emergency_end = at(rows[(ov, "east")]["audio_end"])
    # east was on air already: no preroll, no settle
    assert (emergency_start - asked).total_seconds() < 1.0
    for zone in ("east", "west"):
        resumed = rows[(ids.resumed(slot_id), zone)]
        assert resumed["outcome"] == "resumed" and resumed["relay_on"] == "confirmed"
        gap = (at(resumed["audio_start"]) - emergency_end).total_seconds()
        assert 0 < gap <= 1.0, resumed

    # east never went off between the slot and the emergency; west did, and came back
    since = t - timedelta(seconds=PREROLL)
    east_offs = times(switches, "east", False, since)
    west_ons = times(switches, "west", True, since)
    west_offs = times(switches, "west", False, since)
    assert len(east_offs) == 1 and near(east_offs[0], t + timedelta(seconds=9))
    assert near(west_offs[0], asked, 0.6)
    late = emergency_end - timedelta(seconds=0.1)
    assert not [x for x in west_ons if west_offs[0] < x < late]  # quiet meanwhile
    assert [x for x in west_ons if x >= late]  # back on for the resumed slot
    assert near(west_offs[-1], t + timedelta(seconds=9))
    assert len(station.airchecks()) == 3  # the slot, the emergency, the slot resumed
