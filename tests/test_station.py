"""The station in-process with fake relays, on the virtual clock: recovery at start-up, safe
state, a failed zone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from clocks import VirtualClock
from peers.daemon import SH, StationDir
from peers.fake_station import slot, two_zone_station

from controller.config import load_config
from controller.engine.parts import EngineParts, build_engine
from controller.engine.status import station_status
from controller.planner import airing_id
from controller.store import Store
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
