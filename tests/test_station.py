"""The station in-process with fake relays, on the virtual clock: recovery at start-up, safe
state, a failed zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from clocks import VirtualClock
from peers.daemon import SH, StationDir
from peers.fake_station import slot, two_zone_station

from controller.config import load_config
from controller.engine.parts import EngineParts, build_engine
from controller.engine.status import station_status
from controller.planning.planner import airing_id
from controller.records.asrun_store import Store
from drivers.relays.fake import FakeRelay


def write_station(tmp: Path, slots: list[dict[str, Any]]) -> StationDir:
    return two_zone_station(tmp, slots)


def services(station: StationDir, clock: VirtualClock) -> EngineParts:
    return build_engine(load_config(station.root / "config.yaml"), clock=clock)


def test_start_up_completes_the_record_and_drives_relays_off(tmp_path: Path) -> None:
    clock = VirtualClock()
    now = clock.now().astimezone(SH)
    died = now - timedelta(minutes=50)  # on air when the last process died
    passed = now - timedelta(minutes=30)  # came and went while the daemon was down
    short = now - timedelta(seconds=280)  # 20 s left of 300: too little to join
    station = write_station(
        tmp_path, [slot("died", died, 300), slot("passed", passed, 300), slot("short", short, 300)]
    )
    store = Store(station.db)
    store.open_rows(
        airing_id("died", died),
        "died",
        "p",
        died,
        died + timedelta(seconds=300),
        [("east", died + timedelta(seconds=300)), ("west", died + timedelta(seconds=300))],
    )
    store.set_state("last_alive", (now - timedelta(minutes=45)).isoformat())
    store.close()

    async def scenario() -> EngineParts:
        svc = services(station, clock)
        await svc.start()
        await svc.stop()
        return svc

    svc = clock.run(scenario())
    rows = {(r["slot"], r["zone"]): (r["outcome"], r["reason"]) for r in station.rows()}
    assert rows[("died", "east")][0] == "failed" and "died" in rows[("died", "east")][1]
    assert rows[("passed", "east")] == ("missed", "守护进程未运行 / daemon was not running")
    assert rows[("short", "west")][0] == "missed" and " s left" in rows[("short", "west")][1]
    assert len(rows) == 6
    relay = svc.relays["v"]
    assert isinstance(relay, FakeRelay)
    assert {(c.channel, c.on) for c in relay.commands} == {(1, False), (2, False), (3, False)}


def test_a_zone_whose_relay_does_not_confirm_is_failed_and_the_rest_airs(tmp_path: Path) -> None:
    clock = VirtualClock()
    start = clock.now().astimezone(SH) + timedelta(seconds=5)
    station = write_station(tmp_path, [slot("午间", start, 2)])

    async def scenario() -> tuple[EngineParts, dict[str, Any]]:
        svc = services(station, clock)
        relay = svc.relays["v"]
        assert isinstance(relay, FakeRelay)
        relay.failing_channels.add(2)
        await svc.start()
        await clock.wait_wall(start + timedelta(seconds=0.5))
        status = station_status(svc)
        await clock.sleep(2.5)
        await svc.stop()
        return svc, status

    svc, status = clock.run(scenario())
    (on_air,) = status["on_air"]
    assert [(z["id"], z["relay"]) for z in on_air["zones"]] == [("east", "confirmed")]
    rows = {r["zone"]: r for r in station.rows()}
    assert rows["east"]["outcome"] == "aired" and rows["east"]["frames"] == 2 * 48000
    assert rows["west"]["outcome"] == "failed" and rows["west"]["relay_on"] == "failed"
    assert "v:2" in rows["west"]["reason"]
    assert "v:2" in (svc.relays["v"].health().last_error or "")  # visible in health too


def test_a_join_after_a_crash_restarts_the_interrupted_clip_and_keeps_the_record(
    tmp_path: Path,
) -> None:
    """The process died 2.6 s into a 10 s slot, inside the second play of a.wav: started again,
    the station joins at that clip's start, and the record keeps what aired before."""
    clock = VirtualClock(datetime.now(SH).replace(microsecond=600_000))
    now = clock.now().astimezone(SH)
    start = now.replace(microsecond=0) - timedelta(seconds=2)  # 2.6 s ago, on a whole second
    end = start + timedelta(seconds=10)
    station = two_zone_station(tmp_path, [slot("晚间", start, 10)], min_join_s=3)
    aired = [
        {"index": 0, "file": "a.wav", "started": start.isoformat(), "complete": True},
        {"index": 1, "file": "b.mp3", "started": start.isoformat(), "complete": True},
        {"index": 0, "file": "a.wav", "started": start.isoformat(), "complete": False},
    ]
    store = Store(station.db)
    airing = airing_id("晚间", start)
    store.open_rows(airing, "晚间", "p", start, end, [("east", end), ("west", end)])
    store.update(airing, None, audio_start=start, state="on_air", clips=aired)
    store.set_state("last_alive", (now - timedelta(seconds=0.5)).isoformat())
    store.close()

    async def scenario() -> None:
        svc = services(station, clock)
        await svc.start()
        await clock.wait_wall(end + timedelta(seconds=1))
        await svc.stop()

    clock.run(scenario())
    rows = station.rows()
    assert [(r["zone"], r["outcome"]) for r in rows] == [("east", "joined"), ("west", "joined")]
    for row in rows:
        assert row["clips"][:3] == aired  # what aired before the crash stays in the record
        assert row["clips"][3]["file"] == "a.wav" and row["clips"][3]["index"] == 0
