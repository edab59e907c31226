"""End to end: the daemon process, a real Mosquitto, Tasmota doubles, real ffmpeg and SQLite.

Slots start a few seconds ahead and last a few seconds. Timing bounds are generous sanity
bounds (this machine is shared and noisy); the precise figures come from bench/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from doubles.tasmota import ReceivedCommand, TasmotaDouble
from peers.daemon import SH, Daemon, StationDir, station_time, wait_until, wall
from peers.mosquitto import Mosquitto
from waiting import seconds_to, wait_for

RATE = 48000
PREROLL, SETTLE, POSTROLL = 1.5, 0.3, 0.5
TOL = 0.5  # seconds: relay commands travel daemon → broker → double on a loaded machine

pytestmark = pytest.mark.timeout(90)


class Rig:
    def __init__(self, tmp: Path, broker: Mosquitto, make: Callable[..., TasmotaDouble]) -> None:
        self.broker = broker
        self.station = StationDir(tmp)
        self.rack = make(broker, channels=2)
        self.east = make(broker)
        self.west = make(broker)
        self.daemon = Daemon(self.station)

    def config(self, slots: list[dict[str, Any]], **extra: Any) -> None:
        schedule = {
            "preroll_s": PREROLL,
            "postroll_s": POSTROLL,
            "min_join_s": 3,
            "deadman_margin_s": 3,
            "rearm_s": 1,
            "slots": slots,
        }
        schedule.update(extra.pop("schedule", {}))
        self.station.write_config(
            {
                "mqtt": {
                    "host": self.broker.host,
                    "port": self.broker.port,
                    "keepalive_s": 5,
                    "reconnect_max_s": 1,
                },
                "relays": [
                    {
                        "id": "rack",
                        "type": "tasmota",
                        "topic": self.rack.topic,
                        "channels": 2,
                        "confirm_timeout_s": 1.5,
                    },
                    {
                        "id": "east",
                        "type": "tasmota",
                        "topic": self.east.topic,
                        "confirm_timeout_s": 1.5,
                    },
                    {
                        "id": "west",
                        "type": "tasmota",
                        "topic": self.west.topic,
                        "confirm_timeout_s": 1.5,
                    },
                ],
                "amplifiers": [
                    {"relay": "rack:1", "settle_s": SETTLE},
                    {"relay": "rack:2", "settle_s": SETTLE},
                ],
                "zones": [
                    {"id": "east", "name": "东村", "relays": ["east:1"]},
                    {"id": "west", "name": "西村", "relays": ["west:1"]},
                ],
                "schedule": schedule,
                **extra,
            }
        )


@pytest.fixture
def rig(
    tmp_path: Path, mosquitto: Mosquitto, make_tasmota: Callable[..., TasmotaDouble]
) -> Iterator[Rig]:
    r = Rig(tmp_path, mosquitto, make_tasmota)
    yield r
    r.daemon.stop()


def slot(name: str, start: datetime, seconds: float) -> dict[str, Any]:
    return {"name": name, "start": f"{start:%H:%M:%S}", "duration": f"{seconds}s", "playlist": "p"}


def powers(double: TasmotaDouble, payload: str) -> list[float]:
    """Unix times at which the double received POWER<1> <payload>."""
    hits: list[ReceivedCommand] = [
        c
        for c in double.commands
        if c.command.upper() in ("POWER", "POWER1", "POWER2") and c.payload.upper() == payload
    ]
    return [wall(c.at) for c in hits]


def channel_cmds(double: TasmotaDouble, channel: int, payload: str) -> list[float]:
    return [wall(c.at) for c in double.received(f"POWER{channel}", payload)]


def near(actual: float, expected: datetime, tol: float = TOL) -> bool:
    return abs(actual - expected.timestamp()) <= tol


def test_airing_runs_on_time_for_exactly_its_length(rig: Rig) -> None:
    t = station_time(9)
    rig.config([slot("午间", t, 4)])
    rig.daemon.start()
    wait_until(t, 0.3)  # inside the first clip (0.8 s long)
    status = rig.daemon.get("/api/status")
    (on_air,) = status["on_air"]
    assert on_air["phase"] == "on_air", rig.daemon.log()
    assert {z["id"]: z["relay"] for z in on_air["zones"]} == {
        "east": "confirmed",
        "west": "confirmed",
    }
    assert on_air["clip"]["file"] == "a.wav" and 0 < on_air["clip"]["position_s"] < 0.8
    wait_until(t, 4 + POSTROLL + 2.0)

    # the amplifier chain: 1 then 2 (after its settle), before the zones; off in reverse
    amp1_on, amp2_on = channel_cmds(rig.rack, 1, "ON")[0], channel_cmds(rig.rack, 2, "ON")[0]
    assert near(amp1_on, t - timedelta(seconds=PREROLL + 2 * SETTLE))
    assert amp2_on - amp1_on >= SETTLE - 0.05
    for zone in (rig.east, rig.west):
        (first_on,) = powers(zone, "ON")[:1]
        assert first_on >= amp2_on and near(first_on, t - timedelta(seconds=PREROLL))
        offs = powers(zone, "OFF")
        assert offs[0] < first_on  # start-up drives every relay to its safe state
        assert near(offs[-1], t + timedelta(seconds=4)) and offs[-2] < first_on
        pulse = zone.received("PulseTime1")
        assert pulse and wall(pulse[0].at) <= first_on  # the dead-man is armed before ON
        value = int(pulse[0].payload)  # Tasmota units: tenths up to 111, then seconds + 100
        seconds = value / 10 if value <= 111 else value - 100
        assert seconds >= 4 + PREROLL  # the dead-man outlasts the airing's remainder
        assert len(powers(zone, "ON")) >= 3  # re-armed while the airing lasted (rearm_s 1)
        assert not zone.power()
    amp2_off, amp1_off = channel_cmds(rig.rack, 2, "OFF")[-1], channel_cmds(rig.rack, 1, "OFF")[-1]
    assert near(amp2_off, t + timedelta(seconds=4 + POSTROLL)) and amp1_off >= amp2_off
    assert all(not c.retain for d in (rig.rack, rig.east, rig.west) for c in d.commands)

    # exactly what went on air: 4 s of frames, no more, no less
    ((path, frames),) = rig.station.airchecks()
    assert frames == 4 * RATE, path

    rows = rig.station.rows()
    assert [(r["zone"], r["outcome"], r["relay_on"], r["relay_off"]) for r in rows] == [
        ("east", "aired", "confirmed", "confirmed"),
        ("west", "aired", "confirmed", "confirmed"),
    ]
    for r in rows:
        audio_start = datetime.fromisoformat(r["audio_start"])
        assert abs((audio_start - t).total_seconds()) < 0.1, r
        assert [c["file"] for c in r["clips"]][:3] == ["a.wav", "b.mp3", "a.wav"]


def test_blackouts_cut_one_zone_and_then_every_zone(rig: Rig) -> None:
    t1 = station_time(9)
    t2 = t1 + timedelta(seconds=7)
    rig.config(
        [slot("一", t1, 4), slot("二", t2, 4)],
        blackouts=[
            {
                "name": "西村考点",
                "start": f"{t1 + timedelta(seconds=2):%Y-%m-%dT%H:%M:%S}",
                "end": f"{t1 + timedelta(seconds=5):%Y-%m-%dT%H:%M:%S}",
                "zones": ["west"],
            },
            {
                "name": "全镇静默",
                "start": f"{t2 + timedelta(seconds=2):%Y-%m-%dT%H:%M:%S}",
                "end": f"{t2 + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}",
                "zones": "all",
            },
        ],
    )
    rig.daemon.start()
    wait_until(t2, 4 + POSTROLL + 2.0)

    since = t1.timestamp() - PREROLL  # leave out the start-up safe-state OFFs
    east_offs = [x for x in powers(rig.east, "OFF") if x > since]
    west_offs = [x for x in powers(rig.west, "OFF") if x > since]
    assert near(west_offs[0], t1 + timedelta(seconds=2))  # west cut at the blackout's start
    assert near(east_offs[0], t1 + timedelta(seconds=4))  # east airs to the end
    assert near(east_offs[1], t2 + timedelta(seconds=2)) and near(
        west_offs[1], t2 + timedelta(seconds=2)
    )

    outcomes = {(r["slot"], r["zone"]): (r["outcome"], r["reason"]) for r in rig.station.rows()}
    assert outcomes[("一", "east")][0] == "aired"
    assert outcomes[("一", "west")] == ("cut", "静默期 / blackout: 西村考点")
    assert outcomes[("二", "east")][0] == "cut" and outcomes[("二", "west")][0] == "cut"
    frames = [f for _p, f in rig.station.airchecks()]
    assert frames == [4 * RATE, 2 * RATE]  # the second airing stops at the blackout, exactly


def test_kill_9_mid_slot_then_restart_joins_the_same_airing(rig: Rig) -> None:
    t = station_time(9)
    rig.config([slot("晚间", t, 10)])
    rig.daemon.start()
    # Mid-clip: a (0.8 s) airs again over [2.2, 3.0] s. Killed at 3.0, on its last frame,
    # whether the record had it complete was chance, and so whether the join began with a or b.
    wait_until(t, 2.6)
    rig.daemon.kill9()
    open_rows = rig.station.rows()
    assert [r["outcome"] for r in open_rows] == [None, None]  # left open, not lost
    assert all(r["audio_start"] for r in open_rows)
    last = open_rows[0]["clips"][-1]
    # the clip on air when the process died (in a gap after a complete clip: the next one)
    interrupted = (last["index"] + 1) % 2 if last["complete"] else last["index"]

    rig.daemon.start()

    def closed() -> list[dict[str, Any]]:
        rows = rig.station.rows()
        return rows if rows and all(r["outcome"] for r in rows) else []

    rows = wait_for(closed, seconds_to(t, 10 + POSTROLL + 2.0))
    assert [(r["zone"], r["outcome"]) for r in rows] == [("east", "joined"), ("west", "joined")]
    assert all(r["joined_at"] for r in rows)
    # the join restarts the clip that was playing when the process died (a clip boundary)
    first_after_join = rows[0]["clips"][len(open_rows[0]["clips"])]
    assert first_after_join["index"] == interrupted
    for zone in (rig.east, rig.west):
        ons = powers(zone, "ON")
        assert any(
            on > datetime.fromisoformat(rows[0]["joined_at"]).timestamp() - 0.5 for on in ons
        )
        assert near(powers(zone, "OFF")[-1], t + timedelta(seconds=10))
        assert not zone.power()
    joined = [f for p, f in rig.station.airchecks() if "join" in p.name]
    assert joined and joined[0] < 10 * RATE


def test_broker_outage_mid_slot_never_fires_a_late_on(
    tmp_path: Path, mosquitto_private: Mosquitto, make_tasmota: Callable[..., TasmotaDouble]
) -> None:
    rig = Rig(tmp_path, mosquitto_private, make_tasmota)
    try:
        t = station_time(9)
        rig.config([slot("午间", t, 5)])
        rig.daemon.start()
        wait_until(t, 1.0)
        assert rig.east.power() and rig.west.power()
        mosquitto_private.stop()
        wait_until(t, 5 + POSTROLL + 1.0)  # the OFF commands could not be sent
        mosquitto_private.start()
        back = datetime.now().timestamp()
        for zone in (rig.east, rig.west):
            assert zone.wait_online(10)
        wait_until(datetime.fromtimestamp(back).astimezone(), 4.0)
        for zone in (rig.east, rig.west):
            # nothing queued during the outage arrives late, and the device is off (dead-man)
            assert [on for on in powers(zone, "ON") if on > back] == []
            assert not zone.power()
        rows = rig.station.rows()
        assert {r["relay_off"] for r in rows} == {"failed"}, rows
    finally:
        rig.daemon.stop()


def test_an_emergency_takes_one_zone_and_the_slot_resumes_after_it(rig: Rig) -> None:
    from controller.access.users import UserStore

    t = station_time(9)
    rig.config([slot("午间", t, 9)])
    users = UserStore(rig.station.db)
    token = users.add("duty", "operator")
    users.close()
    rig.daemon.start()
    wait_until(t, 2.0)
    asked = time.time()
    code, alert = rig.daemon.send("POST", "/api/emergency", {
        "identifier": "e2e-1", "status": "actual", "zones": ["east"], "playlist": "p",
        "repeats": 1, "interval_s": 0.5, "reason": "电诈预警",
    }, token)  # fmt: skip
    assert code == 201, (alert, rig.daemon.log())
    wait_until(t, 9 + POSTROLL + 1.5)

    rows = {(r["airing_id"], r["zone"]): r for r in rig.station.rows()}
    slot_id, ov = f"{t.isoformat()}|午间", alert["airing_id"]
    assert rows[(slot_id, "east")]["outcome"] == "preempted", rig.daemon.log()
    assert rows[(slot_id, "west")]["outcome"] == "preempted"
    assert rows[(ov, "east")]["outcome"] == "aired"
    assert rows[(ov, "east")]["relay_on"] == "confirmed"
    emergency_start = datetime.fromisoformat(rows[(ov, "east")]["audio_start"]).timestamp()
    emergency_end = datetime.fromisoformat(rows[(ov, "east")]["audio_end"]).timestamp()
    assert emergency_start - asked < 1.0  # east was on air already: no preroll, no settle
    for zone in ("east", "west"):
        resumed = rows[(f"{slot_id}#r1", zone)]
        assert resumed["outcome"] == "resumed" and resumed["relay_on"] == "confirmed"
        gap = datetime.fromisoformat(resumed["audio_start"]).timestamp() - emergency_end
        assert 0 < gap <= 1.0, resumed

    # east never went off between the slot and the emergency; west did, and came back
    since = t.timestamp() - PREROLL
    east_offs = [x for x in powers(rig.east, "OFF") if x > since]
    west_ons = [x for x in powers(rig.west, "ON") if x > since]
    west_offs = [x for x in powers(rig.west, "OFF") if x > since]
    assert len(east_offs) == 1 and near(east_offs[0], t + timedelta(seconds=9))
    assert near(west_offs[0], datetime.fromtimestamp(asked, SH), 0.6)
    assert not [x for x in west_ons if west_offs[0] < x < emergency_end - 0.1]  # quiet meanwhile
    assert [x for x in west_ons if x >= emergency_end - 0.1]  # back on for the resumed slot
    assert near(west_offs[-1], t + timedelta(seconds=9))
    assert len(rig.station.airchecks()) == 3  # the slot, the emergency, the slot resumed
