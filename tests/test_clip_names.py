"""How the as-run record names a clip (rule 12): by its path under the library's home
(`library/<id>/…`, now under data_dir) or the station's own audio (`sample/…`), never by a
bare file name that every library clip shares (`normalised.wav`)."""

from __future__ import annotations

from pathlib import Path

from peers.daemon import StationDir

from controller.config import load_config
from controller.station.programme import media_name


def test_library_clips_and_the_sample_keep_their_names_in_the_record(tmp_path: Path) -> None:
    station = StationDir(tmp_path)
    station.write_config({})
    cfg = load_config(station.root / "config.yaml").config.station
    home, audio = cfg.library_home, cfg.media_dir
    assert home != audio and home.is_relative_to(cfg.data_dir)  # uploads live with the data
    roots = cfg.clip_roots
    clip = home / "library" / "0123456789ab" / "normalised.wav"
    assert media_name(roots, clip) == "library/0123456789ab/normalised.wav"
    assert media_name(roots, audio / "sample" / "反诈提醒.mp3") == "sample/反诈提醒.mp3"
    assert media_name(roots, Path("/elsewhere/x.wav")) == "x.wav"
