"""Library clips on air: a newly approved clip airs at the next slot, an expired one does not,
and a playlist that resolves to nothing falls back (and the record says so). In-process, on
the virtual clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from clocks import VirtualClock
from media_files import tone
from peers.daemon import SH, StationDir

from controller.config import load_config
from controller.engine.parts import build_engine
from controller.media.library import MediaLibrary


def station_with(tmp: Path, start: datetime, fallback: bool) -> StationDir:
    station = StationDir(tmp)
    (tmp / "playlists" / "warnings.yaml").write_text(
        "order: sequential\ngap_s: 0.2\nselect: {tags: [反诈]}\n", encoding="utf-8"
    )
    station.write_config(
        {
            "audio": {"output": {"type": "file", "dir": "var/aircheck"}, "fade_out_s": 0.2},
            "relays": [{"id": "v", "type": "fake", "channels": 1}],
            "zones": [{"id": "east", "name": "东村", "relays": ["v:1"]}],
            "schedule": {
                "preroll_s": 0.3,
                "postroll_s": 0.1,
                "slots": [{"name": "午间", "start": f"{start:%H:%M:%S}", "duration": "3s",
                           "playlist": "warnings"}],
            },
            "media": {"fallback_playlist": "p"} if fallback else {},
        }
    )  # fmt: skip
    return station


def air(station: StationDir, start: datetime, clock: VirtualClock) -> list[dict[str, Any]]:
    async def scenario() -> None:
        svc = build_engine(load_config(station.root / "config.yaml"), clock=clock)
        await svc.start()
        await clock.wait_wall(start + timedelta(seconds=3.8))
        await svc.stop()

    clock.run(scenario())
    return station.rows()


def soon(clock: VirtualClock, seconds: float) -> datetime:
    return clock.now().astimezone(SH).replace(microsecond=0) + timedelta(seconds=seconds)


def test_approved_clip_airs_at_the_next_slot_and_an_expired_one_does_not(tmp_path: Path) -> None:
    clock = VirtualClock()
    start = soon(clock, 6)
    station = station_with(tmp_path, start, fallback=False)
    cfg = load_config(station.root / "config.yaml").config
    library = MediaLibrary(station.db, cfg.station.media_dir, cfg.media)
    now = clock.now()
    fresh, _ = library.ingest(tone(tmp_path / "new.wav", seconds=1.2, freq=500), title="新案例",
                              uploader="police1", source="upload", original_name="new.wav",
                              tags=["反诈"], approved=True)  # fmt: skip
    expired, _ = library.ingest(tone(tmp_path / "old.wav", seconds=1.2, freq=700), title="旧案例",
                                uploader="police1", source="upload", original_name="old.wav",
                                tags=["反诈"], approved=True, valid_from=now - timedelta(days=9),
                                valid_until=now - timedelta(days=1))  # fmt: skip
    pending, _ = library.ingest(tone(tmp_path / "wait.wav", seconds=1.2, freq=900), title="待审",
                                uploader="police1", source="upload", original_name="wait.wav",
                                tags=["反诈"])  # fmt: skip
    library.close()

    (row,) = air(station, start, clock)
    aired = {str(c["file"]) for c in row["clips"]}
    assert row["outcome"] == "aired"
    assert aired == {f"library/{fresh.id}/normalised.wav"}
    assert expired.id not in str(row["clips"]) and pending.id not in str(row["clips"])


def test_an_empty_playlist_falls_back_and_the_record_says_so(tmp_path: Path) -> None:
    clock = VirtualClock()
    start = soon(clock, 6)
    station = station_with(tmp_path, start, fallback=True)
    (row,) = air(station, start, clock)
    assert row["outcome"] == "aired"
    assert "fallback playlist 'p'" in str(row["reason"])
    assert [c["file"] for c in row["clips"]][:2] == ["a.wav", "b.mp3"]
