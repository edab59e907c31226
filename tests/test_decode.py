"""ClipDecoder against the real ffmpeg: exact frames, streaming, clear errors, reaped processes."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path

import pytest
from media_files import sine

from controller.playout.decode import ClipDecoder, DecodeError, FfmpegNotFound, find_ffmpeg
from drivers.audio.base import PcmFormat

FMT = PcmFormat(48000, 2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no system ffmpeg")
def test_find_ffmpeg_prefers_the_system_binary() -> None:
    assert find_ffmpeg() == shutil.which("ffmpeg")


def test_find_ffmpeg_falls_back_to_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert "imageio_ffmpeg" in find_ffmpeg()


def test_find_ffmpeg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    def missing() -> str:
        raise RuntimeError("no binary")

    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    with pytest.raises(FfmpegNotFound, match="apt-get install ffmpeg"):
        find_ffmpeg()


def test_wav_streams_its_exact_frame_count_in_fixed_blocks(tmp_path: Path) -> None:
    clip = sine(tmp_path / "tone.wav", 440, 0.7)
    decoder = ClipDecoder(FMT, block_frames=1000)
    with decoder.open(clip) as stream:
        blocks = list(stream)
    assert sum(len(b) for b in blocks) == 33600 * FMT.frame_bytes
    assert all(len(b) == 1000 * FMT.frame_bytes for b in blocks[:-1])
    assert stream.frames == 33600
    assert stream.first_block_s is not None and 0 < stream.first_block_s < 2


@pytest.mark.parametrize("ext", ["mp3", "ogg"])
def test_compressed_clips_decode_to_about_their_length(tmp_path: Path, ext: str) -> None:
    clip = sine(tmp_path / f"tone.{ext}", 660, 1.0)
    frames = sum(len(b) for b in ClipDecoder(FMT).open(clip)) // FMT.frame_bytes
    assert abs(frames - 48000) <= 480  # within 10 ms; mp3 is exact thanks to LAME's header


def test_resamples_and_downmixes_to_the_player_format(tmp_path: Path) -> None:
    clip = sine(tmp_path / "tone.wav", 440, 0.5, rate=22050)
    mono = PcmFormat(16000, 1)
    frames = sum(len(b) for b in ClipDecoder(mono).open(clip)) // mono.frame_bytes
    assert abs(frames - 8000) <= 2


def test_random_bytes_raise_decode_error_with_ffmpegs_reason(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(os.urandom(40_000))
    with pytest.raises(DecodeError) as info:
        list(ClipDecoder(FMT).open(junk))
    assert info.value.path == junk
    assert "Invalid" in info.value.reason or "invalid" in info.value.reason


def test_missing_file_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="No such file"):
        list(ClipDecoder(FMT).open(tmp_path / "gone.mp3"))


def test_file_without_audio_is_an_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("这不是音频")
    with pytest.raises(DecodeError):
        list(ClipDecoder(FMT).open(text))


def test_closing_early_kills_and_reaps_ffmpeg(tmp_path: Path) -> None:
    clip = sine(tmp_path / "long.mp3", 440, 20.0)
    stream = ClipDecoder(FMT).open(clip)
    next(stream)
    pid = stream.pid
    assert pid is not None and _alive(pid)
    stream.close()
    assert stream.pid is None
    assert not _alive(pid)  # killed and waited for: not even a zombie is left
    assert list(stream) == []


def test_memory_stays_flat_for_a_long_clip(tmp_path: Path) -> None:
    clip = sine(tmp_path / "long.mp3", 440, 120.0, rate=22050)
    tracemalloc.start()
    try:
        frames = 0
        for block in ClipDecoder(FMT).open(clip):
            frames += len(block) // FMT.frame_bytes
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(frames - 120 * 48000) <= 48
    assert peak < 1_000_000  # 120 s of PCM would be 23 MB


def test_the_sample_clip_decodes() -> None:
    sample = Path(__file__).resolve().parent.parent / "audio" / "sample" / "反诈提醒.mp3"
    mono = PcmFormat(16000, 1)
    frames = sum(len(b) for b in ClipDecoder(mono).open(sample)) // mono.frame_bytes
    assert 30 * 16000 < frames < 120 * 16000
