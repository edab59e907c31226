"""The audio outputs: file air-checks, the null sink, the sound card on miniaudio's NULL backend."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import soundfile
from airchecks import decode, frames

from drivers.audio.alsa import AlsaOutput, OutputError
from drivers.audio.base import AudioOutput, PcmFormat
from drivers.audio.file import FileOutput, sanitise_label
from drivers.audio.null import NullOutput
from drivers.audio.registry import build_output
from drivers.audio.retention import GB
from drivers.settings.links import AudioOutputConfig

FMT = PcmFormat(48000, 2)
BLOCK = 960 * FMT.frame_bytes  # 20 ms


def _pcm(frames: int) -> bytes:
    return bytes(range(256)) * (frames * FMT.frame_bytes // 256) + bytes(
        frames * FMT.frame_bytes % 256
    )


def test_outputs_satisfy_the_protocol(tmp_path: Path) -> None:
    outputs: list[AudioOutput] = [FileOutput(tmp_path), NullOutput(), AlsaOutput(backend="null")]
    assert [o.paced for o in outputs] == [False, False, True]


def test_file_output_keeps_exactly_the_bytes_given(tmp_path: Path) -> None:
    out = FileOutput(tmp_path / "aircheck", keep_days=7)
    out.open(FMT, "2026-05-01 早间")
    data = _pcm(12345)
    for i in range(0, len(data), 1000 * FMT.frame_bytes):
        out.write(data[i : i + 1000 * FMT.frame_bytes])
    path = out.close()
    assert path == tmp_path / "aircheck" / "2026-05-01_早间.flac"
    info = soundfile.info(str(path))
    assert (info.format, info.subtype, info.channels, info.samplerate) == (
        "FLAC", "PCM_16", 2, 48000
    )  # fmt: skip
    assert info.frames == 12345
    assert decode(path).tobytes() == data  # lossless: every sample as given
    assert path.stat().st_size < len(data)


def test_a_recording_not_yet_closed_is_a_valid_empty_flac(tmp_path: Path) -> None:
    out = FileOutput(tmp_path)
    out.open(FMT, "早间")
    path = next(tmp_path.glob("*.flac"))  # as a kill -9 would leave it: never closed
    assert path.read_bytes()[:4] == b"fLaC"
    info = soundfile.info(str(path))
    assert (info.channels, info.samplerate) == (2, 48000)
    assert decode(path).shape == (0, 2)
    out.close()
    assert frames(path) == 0  # FLAC's header says 0 for "unknown": decoded, it is none


def test_file_output_never_overwrites_a_recording(tmp_path: Path) -> None:
    (tmp_path / "noon-1.wav").write_bytes(b"a WAV air-check of before")
    out = FileOutput(tmp_path)
    paths = []
    for _ in range(3):
        out.open(FMT, "noon")
        out.write(_pcm(10))
        path = out.close()
        assert path is not None
        paths.append(path)
    assert paths == [tmp_path / "noon.flac", tmp_path / "noon-2.flac", tmp_path / "noon-3.flac"]
    assert (tmp_path / "noon-1.wav").read_bytes() == b"a WAV air-check of before"
    assert [len(decode(p)) for p in paths] == [10, 10, 10]


@pytest.mark.parametrize(
    ("label", "stem"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("早间 07:00", "早间_07_00"),
        ("...", "airing"),
        ("a/b\\c", "a_b_c"),
        ("", "airing"),
    ],
)
def test_labels_are_sanitised(label: str, stem: str) -> None:
    assert sanitise_label(label) == stem


def test_file_output_deletes_old_recordings_on_open(tmp_path: Path) -> None:
    old, fresh, other = tmp_path / "old.wav", tmp_path / "fresh.wav", tmp_path / "notes.txt"
    old_flac = tmp_path / "old.flac"
    for f in (old, fresh, other, old_flac):
        f.write_bytes(b"x")
    forty_days_ago = time.time() - 40 * 86400
    for f in (old, other, old_flac):
        os.utime(f, (forty_days_ago, forty_days_ago))
    out = FileOutput(tmp_path, keep_days=31)
    out.open(FMT, "today")
    out.close()
    assert not old.exists() and not old_flac.exists()
    assert fresh.exists() and other.exists() and (tmp_path / "today.flac").exists()


def test_null_output_counts_and_discards() -> None:
    out = NullOutput()
    out.open(FMT, "x")
    out.write(_pcm(100))
    out.write(_pcm(23))
    assert out.frames_written == 123
    assert out.close() is None


def test_registry_builds_each_type(tmp_path: Path) -> None:
    file_out = build_output(
        AudioOutputConfig(type="file", dir=tmp_path, keep_days=5, max_gb=1.5, min_free_gb=0.5)
    )
    assert isinstance(file_out, FileOutput)
    assert (file_out.dir, file_out.keep_days) == (tmp_path, 5)
    assert (file_out.store.max_bytes, file_out.store.min_free_bytes) == (1.5 * GB, 0.5 * GB)
    defaults = build_output(AudioOutputConfig(type="file", dir=tmp_path))
    assert isinstance(defaults, FileOutput)
    assert (defaults.store.max_bytes, defaults.store.min_free_bytes) == (10 * GB, 2 * GB)
    assert isinstance(build_output(AudioOutputConfig(type="null")), NullOutput)
    alsa = build_output(AudioOutputConfig(type="alsa", device="USB Audio"))
    assert isinstance(alsa, AlsaOutput)
    assert (alsa.device, alsa.backend) == ("USB Audio", "alsa")


def test_alsa_output_on_the_null_backend_keeps_real_time() -> None:
    out = AlsaOutput(backend="null", buffer_ms=100, period_ms=10)
    out.open(FMT, "pace")
    block = _pcm(960)
    began = time.monotonic()
    for _ in range(40):  # 0.8 s of audio
        out.write(block)
    queued_at = time.monotonic() - began
    out.close()
    played_at = time.monotonic() - began
    # write blocks once 100 ms are queued, so writing takes the audio's time less the buffer
    assert 0.6 <= queued_at <= 0.85
    assert 0.75 <= played_at <= 1.0
    assert out.frames_played == 40 * 960
    assert out.underruns == 0


def test_alsa_output_rejects_an_unknown_backend() -> None:
    with pytest.raises(ValueError, match="backend"):
        AlsaOutput(backend="oss")


def test_alsa_output_names_a_missing_device() -> None:
    out = AlsaOutput(device="no such card", backend="null")
    with pytest.raises(OutputError, match="no such card"):
        out.open(FMT, "x")


@pytest.mark.skipif(Path("/dev/snd").exists(), reason="this machine has a sound card")
def test_alsa_output_without_a_card_fails_clearly() -> None:
    with pytest.raises(OutputError, match="声卡无法打开"):
        AlsaOutput().open(FMT, "x")
