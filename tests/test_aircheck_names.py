"""Air-check recordings are named on the station's clock, whatever zone the airing's times
are held in (an override's are UTC, as the store gives them). Host in UTC, station in
Asia/Shanghai (the shipped config)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import ids
import pytest

from controller.config import load_config
from controller.config.playlists import Playlist
from controller.planning.planner import Airing, ZonePlan
from controller.station.programme import Programme, airing_program
from drivers.audio.file import sanitise_label

DRILL = datetime(2026, 12, 1, 23, 40, 56, 123000, tzinfo=UTC)  # 07:40:56 on 12-02 in SH


pytestmark = pytest.mark.usefixtures("host_in_utc")  # conftest: the host runs in UTC


class Clips:
    """What airing_program reads of a Programme."""

    def __init__(self) -> None:
        self.playlist = Playlist(name="emergency:e1", title="演练", gap_s=2.0, clips=(), listed=())
        self.clips = [Path("library/0123456789ab/normalised.wav")]

    def allowed(self, path: Path) -> bool:
        return True


@pytest.mark.parametrize(
    ("kind", "now", "label"),
    [
        ("start", DRILL, "20261202-074056-紧急插播(演练)"),
        ("join", DRILL + timedelta(seconds=63), "20261202-074056-紧急插播(演练)-join074159"),
        ("resume", DRILL + timedelta(hours=1), "20261202-074056-紧急插播(演练)-resume084056"),
    ],
)
def test_an_overrides_air_check_is_named_in_station_time(
    shipped: Path, kind: str, now: datetime, label: str
) -> None:
    cfg = load_config(shipped).config
    end = DRILL + timedelta(minutes=5)
    drill = Airing(ids.override("e1"), "紧急插播(演练)", DRILL, end, "emergency:e1",
                   (ZonePlan("east-village", "scheduled", end),), 100, "emergency")  # fmt: skip
    program = airing_program(drill, kind, cast(Programme, Clips()), cfg, 0.0, now, now, 0)
    assert program.label == label
    assert sanitise_label(program.label).startswith("20261202-074056-")
