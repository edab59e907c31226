"""Ingest against real files: formats, loudness, trimming, rejections that leave nothing behind."""

from __future__ import annotations

import array
import sqlite3
import threading
import wave
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from media_files import (
    amr_without_speech,
    encode,
    has_espeak,
    louder,
    measure,
    missing_encoder,
    padded,
    random_bytes,
    silence,
    speech_wav,
    tone,
    truncated,
    video_only,
    wav_claiming,
)

import controller.media.normalise as normalise_module
from controller.config.models import MediaConfig
from controller.media import Clip, IngestError, MediaLibrary

pytestmark = pytest.mark.skipif(not has_espeak(), reason="needs Debian's espeak-ng")

MakeLibrary = Callable[..., MediaLibrary]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of Mandarin speech (espeak-ng), as a 22.05 kHz mono WAV."""
    return speech_wav(tmp_path_factory.mktemp("speech") / "speech.wav")


@pytest.fixture
def make_library(tmp_path: Path) -> Iterator[MakeLibrary]:
    libraries: list[MediaLibrary] = []

    def make(**cfg: float) -> MediaLibrary:
        lib = MediaLibrary(tmp_path / "var" / "db.sqlite3", tmp_path / "media", MediaConfig(**cfg))
        libraries.append(lib)
        return lib

    yield make
    for lib in libraries:
        lib.close()


def add(lib: MediaLibrary, src: Path, **kw: Any) -> tuple[Clip, bool]:
    fields: dict[str, Any] = {"title": "反诈提醒", "uploader": "police1", "source": "upload"}
    fields["original_name"] = src.name
    fields.update(kw)
    return lib.ingest(src, **fields)


def snapshot(lib: MediaLibrary) -> tuple[list[str], int]:
    """Every path under media_dir, and the rows in the media table."""
    files = sorted(str(p.relative_to(lib.home)) for p in lib.home.rglob("*"))
    return files, len(lib.list())


def assert_house_format(clip: Clip, cfg: MediaConfig) -> None:
    with wave.open(str(clip.path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48000, 2, 2)
        assert wav.getnframes() / 48000 == pytest.approx(clip.duration_s, abs=0.01)
    got = measure(clip.path)
    assert got.lufs == pytest.approx(cfg.target_lufs, abs=0.5), clip
    assert got.true_peak <= cfg.true_peak_db + 0.1, clip
    assert clip.lufs_out == pytest.approx(got.lufs, abs=0.2)
    assert clip.peak_out == pytest.approx(got.true_peak, abs=0.2)


@pytest.mark.parametrize("ext", ["mp3", "m4a", "aac", "ogg", "opus", "flac", "wav", "amr"])
def test_accepts_what_phones_and_tools_produce(
    ext: str, speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    if (why := missing_encoder(ext)) is not None:
        pytest.skip(why)
    src = encode(speech, tmp_path / f"upload.{ext}")
    lib = make_library()
    clip, created = add(lib, src, original_name=f"录音.{ext}")
    assert created and clip.status == "pending"
    assert clip.path == lib.home / "library" / clip.id / "normalised.wav"
    assert clip.original_path.read_bytes() == src.read_bytes()
    assert sorted(p.name for p in clip.path.parent.iterdir()) == [
        "normalised.wav",
        f"original.{ext}",
    ]
    assert 3.0 < clip.duration_s < 12.0
    assert_house_format(clip, lib.cfg)
    assert lib.get(clip.id) == clip


def test_identifies_the_format_by_content(
    speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    src = encode(speech, tmp_path / "upload.mp3").rename(tmp_path / "upload.wav")
    clip, _ = add(make_library(), src, original_name="录音.wav")
    assert clip.original_path.name == "original.mp3"
    assert clip.original_name == "录音.wav"


def test_quiet_stereo_tone_gets_linear_gain(tmp_path: Path, make_library: MakeLibrary) -> None:
    lib = make_library()
    clip, _ = add(lib, tone(tmp_path / "quiet.flac", level_db=-35, seconds=4, channels=2))
    assert clip.normalisation == "linear"
    assert clip.lufs_in < -30 and clip.peak_out < lib.cfg.true_peak_db
    assert_house_format(clip, lib.cfg)


def test_hot_speech_is_peak_limited(
    speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    lib = make_library()
    clip, _ = add(lib, louder(speech, tmp_path / "hot.wav", peak_db=-0.1))
    assert clip.normalisation == "limited"
    assert clip.peak_in + lib.cfg.target_lufs - clip.lufs_in > lib.cfg.true_peak_db + 1
    assert_house_format(clip, lib.cfg)


def test_falls_back_to_loudnorm_dynamic(
    speech: Path, tmp_path: Path, make_library: MakeLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(normalise_module, "ATTEMPTS", 0)
    lib = make_library()
    clip, _ = add(lib, louder(speech, tmp_path / "hot.wav", peak_db=-0.1))
    assert clip.normalisation == "dynamic"
    assert_house_format(clip, lib.cfg)


def test_trims_leading_and_trailing_silence(
    speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    lib = make_library()
    plain, _ = add(lib, speech)
    framed, _ = add(lib, padded(speech, tmp_path / "framed.wav", lead_s=2.0, tail_s=3.0))
    assert framed.id != plain.id
    # espeak-ng's own short pauses at the edges stay in `plain` (shorter than a trimmable
    # silence), so allow a little more than the 5 s added
    assert framed.duration_s == pytest.approx(plain.duration_s, abs=0.25)
    with wave.open(str(framed.path)) as wav:
        pad = array.array("h", wav.readframes(2400))  # 50 ms of the 0.1 s pad kept before...
        words = array.array("h", wav.readframes(48000))  # ...the speech that follows it
    assert max(map(abs, pad)) < 300  # below -40 dBFS
    assert max(map(abs, words)) > 3000


def test_same_content_twice_returns_the_existing_clip(
    speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    lib = make_library()
    first, created = add(lib, encode(speech, tmp_path / "a.mp3"))
    before = snapshot(lib)
    again, created_again = add(lib, tmp_path / "a.mp3", title="另一个标题", original_name="b.mp3")
    assert created and not created_again
    assert again == first
    assert snapshot(lib) == before


def test_two_threads_ingesting_the_same_file_make_one_clip(
    speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    lib = make_library()
    src = encode(speech, tmp_path / "same.m4a")
    barrier = threading.Barrier(2)
    results: list[tuple[Clip, bool]] = []

    def upload() -> None:
        barrier.wait()
        results.append(add(lib, src))

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(created for _, created in results) == [False, True]
    assert results[0][0] == results[1][0]
    assert [c.id for c in lib.list()] == [results[0][0].id]
    assert sorted(p.name for p in (lib.home / "library").iterdir()) == [results[0][0].id]


def test_path_traversal_name_is_only_metadata(
    speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    lib = make_library()
    clip, _ = add(lib, encode(speech, tmp_path / "x.mp3"), original_name="../../etc/passwd.mp3")
    assert clip.original_name == "../../etc/passwd.mp3"
    assert clip.original_path == lib.home / "library" / clip.id / "original.mp3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["media", "var", "x.mp3"]
    assert clip.to_dict(UTC)["original_path"] == "original.mp3"


def test_progress_rises_to_one_and_the_source_is_left_alone(
    speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    src = encode(speech, tmp_path / "p.ogg")
    data = src.read_bytes()
    seen: list[float] = []
    clip, _ = add(
        make_library(), src, progress=seen.append, approved=True, tags=["反诈", "反诈", " "]
    )
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3  # copy, pass 1, done
    assert clip.status == "approved" and clip.tags == ("反诈",)
    assert src.read_bytes() == data


BROKEN: dict[str, tuple[Callable[[Path, Path], Path], dict[str, float], int, str]] = {
    # name: (make(speech, folder) -> upload, config, HTTP status, words of reason_en)
    "truncated mp3": (
        lambda s, d: truncated(encode(s, d / "whole.mp3"), d / "half.mp3"),
        {},
        422,
        "truncated",
    ),
    "random bytes named .mp3": (lambda s, d: random_bytes(d / "x.mp3"), {}, 415, "not an audio"),
    "zero length": (lambda s, d: _touch(d / "empty.mp3"), {}, 422, "empty"),
    "WAV header claiming 10 hours": (
        lambda s, d: wav_claiming(d / "bomb.wav", 10 * 3600),
        {},
        422,
        "header claims",
    ),
    "oversize": (lambda s, d: encode(s, d / "big.flac"), {"max_upload_mb": 0.01}, 413, "too large"),
    "silent": (lambda s, d: silence(d / "quiet.wav", 3.0), {}, 422, "silent"),
    "too short": (lambda s, d: tone(d / "beep.mp3", seconds=0.5), {"min_s": 1.0}, 422, "too short"),
    "too long": (lambda s, d: tone(d / "long.ogg", seconds=8), {"max_s": 5.0}, 422, "too long"),
    "AMR frames without speech": (
        lambda s, d: amr_without_speech(d / "x.amr"),
        {},
        422,
        "corrupt audio",
    ),
    "video without sound": (lambda s, d: video_only(d / "clip.mp4"), {}, 415, "no audio stream"),
    "playlist naming a local file": (
        lambda s, d: _playlist(d / "list.mp3"),
        {},
        415,
        "not an audio",
    ),
}


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _playlist(path: Path) -> Path:
    path.write_text("#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n")
    return path


@pytest.mark.parametrize("case", list(BROKEN))
def test_rejects_with_a_reason_and_leaves_nothing_behind(
    case: str, speech: Path, tmp_path: Path, make_library: MakeLibrary
) -> None:
    make, cfg, status, words = BROKEN[case]
    folder = tmp_path / "uploads"
    folder.mkdir()
    src = make(speech, folder)
    lib = make_library(**cfg)
    before = snapshot(lib)
    with pytest.raises(IngestError) as caught:
        add(lib, src)
    err = caught.value
    assert err.http_status == status
    assert words in err.reason_en
    assert str(err) == f"{err.reason_zh} / {err.reason_en}"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.reason_zh)
    assert snapshot(lib) == before
    assert src.exists()
    with sqlite3.connect(tmp_path / "var" / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM media").fetchone() == (0,)
