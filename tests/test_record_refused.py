"""A record that refuses what the player reports stops the airing safely (issue 11, item 2):
the zones go off at once, not at the slot's end, the rows close `failed` with the reason, and
the status shows the fault. Before, the exception reached only asyncio's default handler and
the airing went on without its clips. In-process on the virtual clock, fake relays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from clocks import VirtualClock
from peers.daemon import SH
from peers.engine import Switch, record_switches
from peers.fake_station import slot, two_zone_station

from controller.config import load_config
from controller.engine.parts import build_engine
from controller.engine.status import station_status


def test_a_refused_record_write_stops_the_airing_with_the_relays_off(tmp_path: Path) -> None:
    clock = VirtualClock()
    start = clock.now().astimezone(SH) + timedelta(seconds=3)
    station = two_zone_station(tmp_path, [slot("午间", start, 20)])

    async def scenario() -> tuple[list[Switch], dict[str, Any]]:
        parts = build_engine(load_config(station.root / "config.yaml"), clock=clock)
        update = parts.journal.update

        def refusing(airing_id: str, zones: list[str] | None = None, **fields: Any) -> None:
            if "clips" in fields:
                raise RuntimeError("clip list refused")
            update(airing_id, zones, **fields)

        parts.journal.update = refusing  # type: ignore[method-assign]
        switches = record_switches(parts)
        await parts.start()
        await clock.wait_wall(start + timedelta(seconds=4))
        status = station_status(parts)
        told = list(switches)
        await parts.stop()
        return told, status

    switches, status = clock.run(scenario())
    zone_offs = [s.at for s in switches if s.channel in (1, 2) and not s.on and s.at > start]
    assert len(zone_offs) == 2 and all(at < start + timedelta(seconds=2) for at in zone_offs)
    assert status["on_air"] == []
    assert any("播出记录写入出错" in f["text"] for f in status["faults"]), status["faults"]
    for row in station.rows():
        assert row["outcome"] == "failed", row
        assert "the record could not be written (clip list refused)" in row["reason"]
