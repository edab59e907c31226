"""Dead air (issue 11, item 3): the player meters every block it writes; silence inside a clip
longer than `monitor.silence_s` is dead air (a fault while it lasts, seconds and a flag in the
record), clipping is noted, and an airing that aired only silence ends `failed`.

The meter on blocks made here (pure), then the station in-process on the virtual clock with
null audio and ffmpeg decoding real files."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from clocks import VirtualClock
from media_files import padded, random_bytes, silence, tone
from peers.daemon import SH
from peers.fake_station import slot, two_zone_station

from controller.config import load_config
from controller.engine.parts import build_engine
from controller.engine.status import station_status
from controller.playout.meter import LevelWatch, level_of
from controller.playout.player_types import Clipping, DeadAir

RATE = 48000
BLOCK = 960  # 20 ms, the player's block


def block(value: int, frames: int = BLOCK) -> bytes:
    return np.full(frames * 2, value, dtype="<i2").tobytes()  # stereo


def test_level_is_peak_and_rms() -> None:
    sine = (np.sin(np.arange(4800) / 4800 * 2 * np.pi * 10) * 16000).astype("<i2")
    level = level_of(np.repeat(sine, 2).tobytes())
    assert 15990 <= level.peak <= 16000
    assert level.rms == pytest.approx(16000 / np.sqrt(2), rel=0.01)
    assert level_of(b"") == level_of(block(0)) == level_of(block(0))
    assert level_of(block(-32768)).peak == 32768  # the most negative sample is full scale too


def test_silence_longer_than_the_limit_is_dead_air_from_where_it_began() -> None:
    watch = LevelWatch(RATE, silence_s=1.0)
    events: list[Any] = []
    frame = 0
    for value, blocks, gap in [(3000, 10, False), (0, 100, False), (3000, 5, False)]:
        for _ in range(blocks):
            events += watch.feed(block(value), frame, BLOCK, gap)
            frame += BLOCK
    events += watch.finish()
    assert events == [DeadAir(10 * BLOCK, False, 0.0), DeadAir(110 * BLOCK, True, 2.0)]
    assert watch.silence_s == 2.0 and not watch.only_silence


def test_the_gaps_between_clips_and_short_pauses_are_not_dead_air() -> None:
    watch = LevelWatch(RATE, silence_s=1.0)
    events: list[Any] = []
    for n in range(300):
        in_gap = 50 <= n < 150  # two seconds of the programme's own gap
        pause = 200 <= n < 240  # 0.8 s of quiet speech: under the limit
        value = 0 if in_gap or pause else 2000
        events += watch.feed(block(value), n * BLOCK, BLOCK, in_gap)
    events += watch.finish()
    assert events == [] and watch.silence_s == 0.0


def test_clipping_is_told_once_and_counted() -> None:
    watch = LevelWatch(RATE, silence_s=10.0)
    events: list[Any] = []
    for n in range(50):
        events += watch.feed(block(32767 if n % 10 == 0 else 1000), n * BLOCK, BLOCK, False)
    assert events == [Clipping(0)]
    assert watch.clipped_s == pytest.approx(5 * BLOCK / RATE)


def test_only_silence_is_only_silence() -> None:
    watch = LevelWatch(RATE, silence_s=10.0)
    for n in range(10):
        watch.feed(block(5), n * BLOCK, BLOCK, False)  # under the silence floor: -76 dBFS
    assert watch.only_silence and watch.finish() == []  # short of the limit: no dead air


def run_station(tmp: Path, clip: Path, seconds: float, probe_at: float) -> tuple[Any, Any]:
    clock = VirtualClock()
    start = clock.now().astimezone(SH) + timedelta(seconds=3)
    station = two_zone_station(tmp, [slot("午间", start, seconds)])
    (station.root / "audio" / "a.wav").unlink()
    clip.rename(station.root / "audio" / "a.wav")
    (station.root / "playlists" / "p.yaml").write_text("clips: [a.wav]\ngap_s: 0.3\n")
    config = station.root / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "monitor: {silence_s: 1}\n")

    async def scenario() -> dict[str, Any]:
        parts = build_engine(load_config(config), clock=clock)
        await parts.start()
        await clock.wait_wall(start + timedelta(seconds=probe_at))
        status = station_status(parts)
        await clock.wait_wall(start + timedelta(seconds=seconds + 1.0))
        await parts.stop()
        return status

    status = clock.run(scenario())
    return status, {r["zone"]: r for r in station.rows()}


def test_dead_air_inside_a_clip_is_a_fault_while_it_lasts_and_in_the_record(
    tmp_path: Path,
) -> None:
    voice = tone(tmp_path / "t.wav", seconds=0.6, freq=500)
    clip = padded(voice, tmp_path / "gap.wav", lead_s=0, tail_s=2.5)  # 2.5 s of silence inside
    status, rows = run_station(tmp_path, clip, 3.0, probe_at=2.2)
    (on_air,) = status["on_air"]
    assert on_air["dead_air"] is True and status["dead_air"] == [on_air["id"]]
    assert any("静音超过 1 秒" in f["text"] and "dead air" in f["text"] for f in status["faults"])
    with sqlite3.connect(tmp_path / "var" / "broadcastctl.sqlite3") as db:
        alerts = db.execute("SELECT kind, subject, severity FROM alerts").fetchall()
    assert ("dead_air", on_air["id"], "critical") in alerts  # gone out to the people on duty
    for row in rows.values():
        assert row["outcome"] == "aired" and row["dead_air"] == 1
        assert 1.9 <= row["silence_s"] <= 2.5, row  # the clip's silence, to the 20 ms block
        assert "s of dead air" in row["reason"]


@pytest.mark.parametrize("kind", ["silent clip", "no clip decodes"])
def test_an_airing_of_only_silence_ends_failed(tmp_path: Path, kind: str) -> None:
    if kind == "silent clip":
        clip = silence(tmp_path / "s.wav", 2.0)
    else:
        clip = random_bytes(tmp_path / "noise.wav")  # not audio at all: ffmpeg refuses it
    _status, rows = run_station(tmp_path, clip, 2.0, probe_at=1.0)
    for row in rows.values():
        assert row["outcome"] == "failed", row
        assert row["reason"].startswith("只播出了静音 / aired only silence"), row["reason"]
