"""A wall-clock step during an airing (NTP correcting a drifted PC, issue 9 item 6): the
record's length stays the frames' length, the dead-man is not shortened, the step is noted.
On the virtual clock, whose wall clock the test steps."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from clocks import VirtualClock
from peers.daemon import SH, StationDir

from controller.config import load_config
from controller.engine.parts import build_engine
from controller.engine.status import station_status
from drivers.relays.fake import FakeRelay


@pytest.mark.parametrize("step_s", [90.0, -90.0])
def test_a_step_mid_airing_keeps_the_length_and_the_dead_man(
    tmp_path: Path, step_s: float
) -> None:
    clock = VirtualClock()
    start = clock.now().astimezone(SH).replace(microsecond=0) + timedelta(seconds=3)
    station = StationDir(tmp_path)
    station.write_config(
        {
            "audio": {"output": {"type": "null"}, "fade_out_s": 0.2},
            "relays": [{"id": "v", "type": "fake", "channels": 2}],
            "amplifiers": [{"relay": "v:2"}],
            "zones": [{"id": "east", "name": "东村", "relays": ["v:1"]}],
            "schedule": {
                "preroll_s": 0.5, "postroll_s": 0.2, "min_join_s": 1, "rearm_s": 0.3,
                "deadman_margin_s": 3,
                "slots": [{"name": "午间", "start": f"{start:%H:%M:%S}", "duration": "4s",
                           "playlist": "p"}],
            },
        }
    )  # fmt: skip
    async def scenario() -> tuple[list[float], list[str]]:
        svc = build_engine(load_config(station.root / "config.yaml"), clock=clock)
        fake = svc.relays["v"]
        assert isinstance(fake, FakeRelay)
        await svc.start()
        await clock.wait_wall(start + timedelta(seconds=1.0))
        clock.step(step_s)  # one second into the airing
        deadmen = []
        for _ in range(6):  # the re-arms after the step
            await clock.sleep(0.3)
            deadmen.append(fake._deadman_s.get(1, 0.0))
        await clock.sleep(3.0)  # the audio's end by its frames, and the postroll
        faults = [f["text"] for f in station_status(svc)["faults"]]
        await svc.stop()
        return deadmen, faults

    deadmen, faults = clock.run(scenario())
    (row,) = station.rows()
    assert row["outcome"] == "aired", row
    length = (
        datetime.fromisoformat(row["audio_end"]) - datetime.fromisoformat(row["audio_start"])
    ).total_seconds()
    assert row["frames"] == 4 * 48000
    assert abs(length - 4.0) < 0.01, length  # never 94 s or -86 s
    assert "时钟跳变" in row["reason"] and "wall clock stepped" in row["reason"]
    assert any("时钟跳变" in f for f in faults)
    # the dead-man still covers what is left of the audio (≈ 1.5-3 s) plus the 3 s margin
    assert min(deadmen[:4]) > 3.0 + 1.0, deadmen
    assert max(deadmen) < 3.0 + 4.0, deadmen
