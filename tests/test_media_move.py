"""Uploads live under data_dir: a library an older release kept in audio/library/ moves there
at the engine's start, once, and a start cut short at any step loses nothing."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from media_files import tone

import controller.media.move as move_module
from controller.config import LoadedConfig, load_config
from controller.config.models import MediaConfig
from controller.daemon.engine_main import move_uploads
from controller.media import Clip, MediaLibrary
from controller.media.move import move_library
from controller.media.resolve import resolve

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=SH)


class OldStation:
    """A copy of the shipped station whose library an older release made in audio/library/:
    three clips (approved, pending, approved for a window), a stray folder no row knows, and
    playlists naming clips by id and by their old path."""

    def __init__(self, root: Path, tones: Path) -> None:
        for name in ("playlists", "audio"):
            shutil.copytree(ROOT / name, root / name)
        shutil.copy(ROOT / "config.yaml", root / "config.yaml")
        self.root, self.legacy, self.home = root, root / "audio", root / "var" / "media"
        self.db = root / "var" / "broadcastctl.sqlite3"
        old = MediaLibrary(self.db, self.legacy, MediaConfig())  # where uploads used to go
        try:
            self.clips = [
                self._add(old, tones, 440, approved=True),
                self._add(old, tones, 550),
                self._add(old, tones, 660, approved=True, valid_from=NOW - timedelta(days=1),
                          valid_until=NOW + timedelta(days=30)),
            ]  # fmt: skip
        finally:
            old.close()
        self.stray = self.legacy / "library" / "0123456789ab"
        self.stray.mkdir()
        (self.stray / "normalised.wav").write_bytes(b"not the library's")
        first, third = self.clips[0].id, self.clips[2].id
        (root / "playlists" / "police.yaml").write_text(
            f"clips: [{first}, library/{third}/normalised.wav, sample/反诈提醒.mp3]\n",
            encoding="utf-8",
        )

    @staticmethod
    def _add(lib: MediaLibrary, folder: Path, freq: int, **kw: Any) -> Clip:
        src = tone(folder / f"{freq}.wav", freq=freq, seconds=1.2)
        clip, created = lib.ingest(src, title=f"{freq} Hz", uploader="police1", source="upload",
                                   original_name=src.name, tags=["反诈"], **kw)  # fmt: skip
        assert created
        return clip

    def load(self) -> LoadedConfig:
        return load_config(self.root / "config.yaml")

    def library(self) -> MediaLibrary:
        """The library as the engine and the API open it (engine/parts.py, app.py)."""
        return MediaLibrary(self.db, self.home, MediaConfig(), legacy=self.legacy)

    def tree(self) -> dict[str, str]:
        """Every file under audio/ and var/media/, and a digest of its bytes."""
        return {
            str(p.relative_to(self.root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in (self.legacy, self.home)
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }

    def clip_bytes(self) -> dict[str, str]:
        """Each clip's files by name, with a digest of the bytes, wherever they are."""
        lib = self.library()
        try:
            return {
                f"{c.id}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
                for c in lib.list()
                for p in (c.path, c.original_path)
            }
        finally:
            lib.close()


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tones")


@pytest.fixture
def old(tmp_path: Path, tones: Path) -> OldStation:
    return OldStation(tmp_path / "station", tones)


@pytest.fixture
def library(old: OldStation) -> Iterator[Callable[[], MediaLibrary]]:
    opened: list[MediaLibrary] = []

    def open_library() -> MediaLibrary:
        opened.append(old.library())
        return opened[-1]

    yield open_library
    for lib in opened:
        lib.close()


def described(clips: list[Clip]) -> list[dict[str, Any]]:
    return [c.to_dict(UTC) for c in clips]


def test_uploads_default_to_the_data_folder_and_the_sample_stays(old: OldStation) -> None:
    station = old.load().config.station
    assert station.library_home == old.root / "var" / "media"
    assert station.media_dir == old.legacy
    text = (old.root / "config.yaml").read_text(encoding="utf-8")
    (old.root / "config.yaml").write_text(
        text.replace("  media_dir: audio", "  media_dir: audio\n  library_dir: uploads"),
        encoding="utf-8",
    )
    assert old.load().config.station.library_home == old.root / "uploads"


def test_the_old_library_moves_at_start_up_and_stays_the_same_library(
    old: OldStation, library: Callable[[], MediaLibrary], caplog: pytest.LogCaptureFixture
) -> None:
    before, loaded = library().list(), old.load()
    wanted = old.clip_bytes()
    assert all(c.path.is_relative_to(old.legacy.resolve()) for c in before)  # read in place
    with caplog.at_level(logging.INFO, logger="controller.media.move"):
        loaded = move_uploads(loaded)
    after = library().list()
    assert described(after) == described(before)  # ids, durations, statuses, windows
    home = old.home.resolve() / "library"
    assert [c.path for c in after] == [home / c.id / "normalised.wav" for c in before]
    assert all(c.path.is_file() and c.original_path.is_file() for c in after)
    assert old.clip_bytes() == wanted
    assert sorted(p.name for p in (old.legacy / "library").iterdir()) == [old.stray.name]
    assert (old.stray / "normalised.wav").read_bytes() == b"not the library's"  # no row: stays
    assert (old.legacy / "sample" / "反诈提醒.mp3").is_file()
    (line,) = [r.getMessage() for r in caplog.records if "moved" in r.getMessage()]
    assert "moved 3 library clip(s)" in line and all(c.id in line for c in before)
    # The playlists air the moved clips: by id, by their old path, and the shipped sample.
    first, _, third = after
    police = resolve(loaded.playlists["police"], library(), NOW)
    assert police == [first.path, third.path, old.legacy / "sample" / "反诈提醒.mp3"]
    anti_fraud = resolve(loaded.playlists["anti-fraud"], library(), NOW)
    assert anti_fraud == [old.legacy / "sample" / "反诈提醒.mp3"]


def test_a_second_start_moves_nothing(old: OldStation) -> None:
    loaded = move_uploads(old.load())
    tree = old.tree()
    assert move_uploads(loaded) is loaded
    assert move_library(old.db, old.legacy, old.home) == []
    assert old.tree() == tree


def test_a_new_install_has_nothing_to_move(tmp_path: Path) -> None:
    assert move_library(tmp_path / "var" / "db.sqlite3", tmp_path / "audio", tmp_path / "m") == []
    (tmp_path / "audio" / "library").mkdir(parents=True)
    assert move_library(tmp_path / "var" / "db.sqlite3", tmp_path / "audio", tmp_path / "m") == []
    assert not (tmp_path / "var").exists()


class Crash(Exception):
    pass


def crash_on_call(n: int, real: Callable[..., Any]) -> Callable[..., Any]:
    calls = 0

    def step(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == n:
            raise Crash(f"power cut at call {n}")
        return real(*args, **kwargs)

    return step


def across_filesystems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(move_module, "_same_filesystem", lambda a, b: False)


@pytest.mark.parametrize(
    ("cross_fs", "step", "call"),
    [
        (False, "_move_folder", 2),  # the second clip's rename
        (True, "_fsync_file", 3),  # halfway through the second clip's copy
        (True, "fsync_dir", 1),  # a whole copy, not yet renamed into place
        (True, "rmtree", 1),  # the first clip in place, its old folder not yet deleted
    ],
)
def test_a_start_cut_short_loses_nothing_and_the_next_finishes(
    old: OldStation, library: Callable[[], MediaLibrary], monkeypatch: pytest.MonkeyPatch,
    cross_fs: bool, step: str, call: int,
) -> None:  # fmt: skip
    before, wanted = described(library().list()), old.clip_bytes()
    if cross_fs:
        across_filesystems(monkeypatch)
    owner: Any = shutil if step == "rmtree" else move_module
    with monkeypatch.context() as patch:
        patch.setattr(owner, step, crash_on_call(call, getattr(owner, step)))
        with pytest.raises(Crash):
            move_library(old.db, old.legacy, old.home)
    assert described(library().list()) == before and old.clip_bytes() == wanted
    left = sorted(p.name for p in (old.legacy / "library").iterdir() if p != old.stray)
    assert left, "the crash came before the end"
    assert move_library(old.db, old.legacy, old.home) == left  # the next start finishes it
    after = library().list()
    assert described(after) == before and old.clip_bytes() == wanted
    assert all(c.path.is_relative_to(old.home.resolve()) for c in after)
    assert sorted(p.name for p in (old.legacy / "library").iterdir()) == [old.stray.name]
    assert not list((old.home / "library").glob(".moving-*"))
    assert move_library(old.db, old.legacy, old.home) == []


def test_a_crash_at_start_up_does_not_stop_the_engine(
    old: OldStation, library: Callable[[], MediaLibrary], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A move that fails (a full disk, say) is logged; the clips stay readable where they are."""
    before = described(library().list())

    def full_disk(src: Path, dst: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(move_module, "_move_folder", full_disk)
    loaded = old.load()
    assert move_uploads(loaded) is loaded
    assert described(library().list()) == before
