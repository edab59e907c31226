"""Air-check retention and the disk (issue 11, item 8): recordings go by age and by a disk
budget, oldest first, never the one being written; the air-check disk's free space is in the
engine's status, with a warning (Chinese first) below `min_free_gb`. Real small files with
set modification times; the disk's figures are injected, so "nearly full" fills nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import yaml
from peers.fake_station import two_zone_station
from pydantic import ValidationError

from controller.config import load_config
from controller.engine.parts import build_engine
from controller.engine.status import station_status
from drivers.audio.base import PcmFormat
from drivers.audio.file import FileOutput
from drivers.audio.retention import GB, AircheckStore, DiskUsage
from drivers.settings.links import AudioOutputConfig

NOW = 1_900_000_000.0  # the injected clock's "now"
DAY = 86400.0
FMT = PcmFormat(48000, 2)


def recording(folder: Path, name: str, days_old: float, size: int = 1000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\0" * size)
    os.utime(path, (NOW - days_old * DAY, NOW - days_old * DAY))
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_recordings_past_keep_days_go_and_the_rest_stay(tmp_path: Path) -> None:
    for name, age in (("a.flac", 40), ("b.wav", 32), ("c.flac", 30.9), ("d.flac", 1)):
        recording(tmp_path, name, age)
    recording(tmp_path, "notes.txt", 400)  # not a recording: never touched
    (tmp_path / "sub.flac").mkdir()  # nor a folder that looks like one
    store = AircheckStore(tmp_path, keep_days=31, now=lambda: NOW)
    assert store.prune() == [tmp_path / "a.flac", tmp_path / "b.wav"]
    assert names(tmp_path) == ["c.flac", "d.flac", "notes.txt", "sub.flac"]


def test_over_the_budget_the_oldest_go_first_until_it_fits(tmp_path: Path) -> None:
    for i, age in enumerate((5, 4, 3, 2, 1)):
        recording(tmp_path, f"r{i}.flac", age, size=1000)
    store = AircheckStore(tmp_path, keep_days=31, max_bytes=3000, now=lambda: NOW)
    assert store.prune() == [tmp_path / "r0.flac", tmp_path / "r1.flac"]
    assert names(tmp_path) == ["r2.flac", "r3.flac", "r4.flac"]
    assert store.prune() == []  # exactly at the budget is within it


def test_age_and_budget_together_and_old_wavs_count(tmp_path: Path) -> None:
    recording(tmp_path, "ancient.wav", 60, size=100)
    recording(tmp_path, "old.wav", 10, size=5000)  # a WAV of before: big, counts to the budget
    recording(tmp_path, "new.flac", 2, size=800)
    recording(tmp_path, "newer.flac", 1, size=800)
    store = AircheckStore(tmp_path, keep_days=31, max_bytes=2000, now=lambda: NOW)
    assert store.prune() == [tmp_path / "ancient.wav", tmp_path / "old.wav"]
    assert names(tmp_path) == ["new.flac", "newer.flac"]


def test_the_recording_being_written_never_goes(tmp_path: Path) -> None:
    on_air = recording(tmp_path, "on-air.flac", 90, size=10_000)  # older and alone over budget
    recording(tmp_path, "yesterday.flac", 1)
    store = AircheckStore(tmp_path, keep_days=31, max_bytes=5000, now=lambda: NOW)
    assert store.prune(keep=[on_air]) == [tmp_path / "yesterday.flac"]
    assert on_air.exists()


def test_the_file_output_keeps_the_budget_while_it_records(tmp_path: Path) -> None:
    """Budget of 1 MB: the day-old 600 kB recording gives way to the new one, whose own size
    counts while it is being written; the new one stays even though it is newest and large."""
    folder = tmp_path / "aircheck"
    older = recording(folder, "older.flac", 2, size=600_000)
    recent = recording(folder, "recent.flac", 1, size=300_000)
    out = FileOutput(AircheckStore(folder, keep_days=31, max_bytes=1_000_000))
    out.open(FMT, "now")
    out.write(os.urandom(48000 * 4))  # 1 s of noise: about 190 kB of FLAC
    path = out.close()
    assert path == folder / "now.flac"
    assert not older.exists() and recent.exists() and path.exists()
    assert out.store.report().recordings == 2


def test_free_space_is_reported_and_warns_below_the_threshold(tmp_path: Path) -> None:
    recording(tmp_path, "a.flac", 1, size=2000)
    disk = DiskUsage(total=64 * GB, used=62 * GB, free=2 * GB)
    store = AircheckStore(tmp_path, min_free_bytes=2 * GB, disk_usage=lambda p: disk)
    ok = store.report()
    assert (ok.free_bytes, ok.total_bytes, ok.recordings, ok.recordings_bytes) == (
        2 * GB, 64 * GB, 1, 2000
    )  # fmt: skip
    assert not ok.low and ok.warning is None  # at the threshold is not below it
    disk = DiskUsage(total=64 * GB, used=int(63.2 * GB), free=int(0.8 * GB))
    low = store.report()
    assert low.low
    assert low.warning == (
        "录音盘剩余空间不足：剩 0.8 GB，低于 2.0 GB / "
        "air-check disk nearly full: 0.8 GB free, below 2.0 GB"
    )


def test_a_disk_that_cannot_be_read_is_a_warning_too(tmp_path: Path) -> None:
    def gone(path: Path) -> DiskUsage:
        raise OSError(5, "Input/output error")

    report = AircheckStore(tmp_path, disk_usage=gone).report()
    assert report.free_bytes is None and not report.low
    assert report.warning is not None and report.warning.startswith("无法读取录音盘空间")


def test_before_the_first_airing_the_folders_disk_is_asked(tmp_path: Path) -> None:
    asked: list[Path] = []

    def usage(path: Path) -> DiskUsage:
        asked.append(path)
        return DiskUsage(10 * GB, 1 * GB, 9 * GB)

    report = AircheckStore(tmp_path / "var" / "aircheck", disk_usage=usage).report()
    assert asked == [tmp_path] and report.recordings == 0 and report.warning is None


def test_the_status_carries_the_air_check_disk(tmp_path: Path) -> None:
    station = two_zone_station(tmp_path, [])
    path = station.root / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["audio"]["output"] = {"type": "file", "dir": "var/aircheck", "max_gb": 4,
                                 "min_free_gb": 1.5}  # fmt: skip
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    svc = build_engine(load_config(path))
    output = svc.output
    assert isinstance(output, FileOutput)
    output.store.disk_usage = lambda path: DiskUsage(32 * GB, int(31 * GB), int(1.0 * GB))

    async def status() -> dict[str, object]:
        await svc.start()
        try:
            return station_status(svc)
        finally:
            await svc.stop()

    storage = asyncio.run(status())["storage"]
    assert storage == {
        "ok": False,
        "warning": "录音盘剩余空间不足：剩 1.0 GB，低于 1.5 GB / "
        "air-check disk nearly full: 1.0 GB free, below 1.5 GB",
        "dir": str(station.root / "var" / "aircheck"),
        "free_gb": 1.0,
        "total_gb": 32.0,
        "min_free_gb": 1.5,
        "recordings": 0,
        "recordings_gb": 0.0,
        "max_gb": 4.0,
        "keep_days": 31,
    }


def test_a_station_without_air_checks_says_so(tmp_path: Path) -> None:
    station = two_zone_station(tmp_path, [])  # null audio

    async def status() -> dict[str, object]:
        svc = build_engine(load_config(station.root / "config.yaml"))
        await svc.start()
        try:
            return station_status(svc)
        finally:
            await svc.stop()

    assert asyncio.run(status())["storage"] is None


@pytest.mark.parametrize(
    ("field", "value"), [("max_gb", 0), ("max_gb", -1), ("min_free_gb", -0.5), ("max_gb", 1e9)]
)
def test_the_budget_settings_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        AudioOutputConfig.model_validate({"type": "file", field: value})
