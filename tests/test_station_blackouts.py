"""Blackouts from config.yaml on the running engine: one over one village cuts that village at
its start while the other airs on; one over every village cuts the whole airing, to the frame.

The end-to-end station (two villages, two amplifiers, tests/peers/daemon.py `two_villages`) on
fake boards, in-process on the virtual clock (tests/clocks.py), air-checks in files and ffmpeg
decoding the clips: the planner and the player are the daemon's, the seconds are virtual.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from clocks import VirtualClock
from peers.daemon import RATE, SH, StationDir, slot
from peers.engine import Switch, fake_villages, record_switches

from controller.config import load_config
from controller.engine.parts import build_engine

TOL = 0.5  # seconds, as the daemon's end-to-end tests allow (virtual time is exact)


def offs(switches: list[Switch], relay: str, since: datetime) -> list[datetime]:
    return [s.at for s in switches if s.relay == relay and not s.on and s.at > since]


def near(actual: datetime, expected: datetime) -> bool:
    return abs((actual - expected).total_seconds()) <= TOL


def test_blackouts_cut_one_zone_and_then_every_zone(tmp_path: Path) -> None:
    clock = VirtualClock()
    t1 = clock.now().astimezone(SH).replace(microsecond=0) + timedelta(seconds=9)
    t2 = t1 + timedelta(seconds=7)
    station = StationDir(tmp_path)
    fake_villages(
        station,
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

    async def scenario() -> list[Switch]:
        parts = build_engine(load_config(station.root / "config.yaml"), clock=clock)
        switches = record_switches(parts)
        await parts.start()
        await clock.wait_wall(t2 + timedelta(seconds=4 + 2.0))
        told = list(switches)  # before the engine's own stop switches everything off
        await parts.stop()
        return told

    switches = clock.run(scenario())

    since = t1 - timedelta(seconds=1.5)  # leave out the start-up safe-state OFFs
    east_offs, west_offs = offs(switches, "east", since), offs(switches, "west", since)
    assert near(west_offs[0], t1 + timedelta(seconds=2))  # west cut at the blackout's start
    assert near(east_offs[0], t1 + timedelta(seconds=4))  # east airs to the end
    assert near(east_offs[1], t2 + timedelta(seconds=2))
    assert near(west_offs[1], t2 + timedelta(seconds=2))

    outcomes = {(r["slot"], r["zone"]): (r["outcome"], r["reason"]) for r in station.rows()}
    assert outcomes[("一", "east")][0] == "aired"
    assert outcomes[("一", "west")] == ("cut", "静默期 / blackout: 西村考点")
    assert outcomes[("二", "east")][0] == "cut" and outcomes[("二", "west")][0] == "cut"
    frames = [f for _p, f in station.airchecks()]
    assert frames == [4 * RATE, 2 * RATE]  # the second airing stops at the blackout, exactly
