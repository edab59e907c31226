"""Config paths and times: relative paths resolve against the config's folder, not the working
directory; absolute paths stay; naive blackout times are station time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from config_cases import BASE, SH, edit, make_station

from controller.config import load_config

# --- paths and time zones --------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_folder_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    station = tmp_path / "station"
    text = BASE.replace(
        "  timezone: Asia/Shanghai\n", "  timezone: Asia/Shanghai\n  data_dir: state\n"
    )
    text = text.replace(
        "  fade_out_s: 3\n", "  fade_out_s: 3\n  output: {type: file, dir: aircheck}\n"
    )
    make_station(station, text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_config(Path("../station/config.yaml"))
    assert loaded.path == station / "config.yaml"
    assert loaded.root == station
    assert loaded.config.station.data_dir == station / "state"
    assert loaded.config.station.media_dir == station / "audio"
    assert loaded.config.station.playlists_dir == station / "playlists"
    assert loaded.config.audio.output.dir == station / "aircheck"
    assert loaded.playlists["anti-fraud"].clips == (station / "audio" / "a.mp3",)
    assert loaded.resolve(Path("var/x.db")) == station / "var" / "x.db"
    assert loaded.resolve(Path("/srv/audio")) == Path("/srv/audio")


def test_absolute_paths_stay(tmp_path: Path) -> None:
    media = tmp_path / "library"
    (media).mkdir()
    (media / "a.mp3").write_bytes(b"ID3")
    text = edit("  timezone: Asia/Shanghai", f"  timezone: Asia/Shanghai\n  media_dir: {media}")
    loaded = load_config(make_station(tmp_path / "station", text))
    assert loaded.config.station.media_dir == media
    assert loaded.playlists["anti-fraud"].clips == (media / "a.mp3",)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2027-06-07T00:00", datetime(2027, 6, 7, tzinfo=SH)),
        ("2027-06-07", datetime(2027, 6, 7, tzinfo=SH)),
        ("2027-06-07 08:30:00", datetime(2027, 6, 7, 8, 30, tzinfo=SH)),
        ("2027-06-06T16:00:00+00:00", datetime(2027, 6, 6, 16, tzinfo=UTC)),  # offset kept
    ],
)
def test_naive_blackout_times_are_station_time(
    tmp_path: Path, written: str, expected: datetime
) -> None:
    text = edit("start: 2027-06-07T00:00", f"start: {written}")
    start = load_config(make_station(tmp_path, text)).config.blackouts[0].start
    assert start.utcoffset() is not None
    assert start == expected
    assert start.utcoffset() == expected.utcoffset()
