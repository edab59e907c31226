"""The media library's records: list, get, update, validity windows, persistence, leftovers."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from media_files import tone

from controller.config.models import MediaConfig
from controller.media import Clip, MediaLibrary
from controller.records.asrun_store import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2027, 3, 1, 8, 0, tzinfo=SHANGHAI)


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[MediaLibrary]:
    library = MediaLibrary(tmp_path / "var" / "db.sqlite3", tmp_path / "media", MediaConfig())
    yield library
    library.close()


def add_tone(lib: MediaLibrary, folder: Path, freq: int, **kw: Any) -> Clip:
    src = tone(folder / f"{freq}.wav", freq=freq, seconds=1.5)
    fields: dict[str, Any] = {"title": f"{freq} Hz", "uploader": "police1", "source": "upload"}
    clip, created = lib.ingest(src, original_name=src.name, **(fields | kw))
    assert created
    return clip


def test_list_filters_by_status_tag_and_source(lib: MediaLibrary, tmp_path: Path) -> None:
    a = add_tone(lib, tmp_path, 440, tags=["反诈", "电信诈骗"])
    b = add_tone(lib, tmp_path, 550, tags=["反诈"], approved=True, source="cli")
    c = add_tone(lib, tmp_path, 660)
    assert [x.id for x in lib.list()] == [a.id, b.id, c.id]
    assert [x.id for x in lib.list(status="approved")] == [b.id]
    assert [x.id for x in lib.list(status="pending")] == [a.id, c.id]
    assert [x.id for x in lib.list(tag="反诈")] == [a.id, b.id]
    assert [x.id for x in lib.list(tag="电信诈骗", status="pending")] == [a.id]
    assert [x.id for x in lib.list(source="cli")] == [b.id]
    assert lib.list(tag="nothing") == []
    assert lib.get(b.id) == b and lib.get("000000000000") is None


def test_clip_fields_and_json(lib: MediaLibrary, tmp_path: Path) -> None:
    until = T0 + timedelta(days=30)
    clip = add_tone(lib, tmp_path, 440, valid_from=T0, valid_until=until, tags=[" 反诈 "])
    assert len(clip.id) == 12 and clip.sha256.startswith(clip.id)
    assert clip.tags == ("反诈",) and clip.valid_from == T0 and clip.valid_until == until
    assert clip.created_at.tzinfo is not None
    assert clip.path.is_absolute() and clip.original_path.is_file()
    data = json.loads(json.dumps(clip.to_dict(SHANGHAI), ensure_ascii=False))
    assert data["path"] == "normalised.wav" and data["original_path"] == "original.wav"
    assert data["valid_until"] == until.isoformat() and data["tags"] == ["反诈"]
    assert data["normalisation"] in ("linear", "limited", "dynamic")


def test_update_changes_what_it_may(lib: MediaLibrary, tmp_path: Path) -> None:
    clip = add_tone(lib, tmp_path, 440)
    updated = lib.update(
        clip.id, status="approved", title="  新标题  ", tags=["a", "b"],
        valid_from=T0, valid_until=(T0 + timedelta(days=1)).isoformat(),
    )  # fmt: skip
    assert updated.status == "approved" and updated.title == "新标题"
    assert updated.tags == ("a", "b") and updated.valid_until == T0 + timedelta(days=1)
    assert lib.get(clip.id) == updated
    assert lib.update(clip.id, valid_until=None).valid_until is None


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "deleted"},
        {"title": " "},
        {"tags": "反诈"},
        {"valid_from": datetime(2027, 3, 1, 8, 0)},  # naive
        {"valid_until": "tomorrow"},
        {"valid_from": T0, "valid_until": T0},
        {"path": "/etc/passwd"},
        {"sha256": "0" * 64},
    ],
)
def test_update_refuses_bad_fields(
    lib: MediaLibrary, tmp_path: Path, fields: dict[str, object]
) -> None:
    clip = add_tone(lib, tmp_path, 440)
    with pytest.raises(ValueError):
        lib.update(clip.id, **fields)
    assert lib.get(clip.id) == clip


def test_update_of_an_unknown_clip_is_a_key_error(lib: MediaLibrary) -> None:
    with pytest.raises(KeyError):
        lib.update("0123456789ab", status="approved")


def test_ingest_refuses_a_naive_validity_and_writes_nothing(
    lib: MediaLibrary, tmp_path: Path
) -> None:
    src = tone(tmp_path / "t.wav", seconds=1.5)
    with pytest.raises(ValueError):
        lib.ingest(src, title="t", uploader="u", source="cli", original_name="t.wav",
                   valid_until=datetime(2027, 1, 1))  # fmt: skip
    assert lib.list() == [] and list((lib.home / "library").iterdir()) == []


def _clip(**kw: Any) -> Clip:
    base = Clip(
        id="0123456789ab", title="t", uploader="u", source="upload", sha256="0" * 64,
        original_name="t.mp3", duration_s=10.0, lufs_in=-20, peak_in=-3, lufs_out=-16,
        peak_out=-1.6, status="approved", valid_from=None, valid_until=None, tags=(),
        path=Path("/x/normalised.wav"), original_path=Path("/x/original.mp3"), created_at=T0,
    )  # fmt: skip
    return replace(base, **kw)


@pytest.mark.parametrize(
    ("status", "valid_from", "valid_until", "now", "playable"),
    [
        ("approved", None, None, T0, True),
        ("pending", None, None, T0, False),
        ("rejected", None, None, T0, False),
        ("retired", None, None, T0, False),
        ("approved", T0, None, T0, True),  # from is inclusive
        ("approved", T0, None, T0 - timedelta(seconds=1), False),
        ("approved", None, T0, T0, False),  # until is exclusive
        ("approved", None, T0, T0 - timedelta(seconds=1), True),
        ("approved", T0, T0 + timedelta(days=7), T0 + timedelta(days=3), True),
        # the same instant in another zone
        ("approved", None, T0, T0.astimezone(UTC) - timedelta(minutes=1), True),
    ],
)
def test_playable_inside_its_window_only(
    status: str, valid_from: datetime | None, valid_until: datetime | None,
    now: datetime, playable: bool,
) -> None:  # fmt: skip
    clip = _clip(status=status, valid_from=valid_from, valid_until=valid_until)
    assert clip.playable(now) is playable


def test_survives_a_restart_and_shares_the_as_run_database(tmp_path: Path) -> None:
    db_path, media = tmp_path / "var" / "broadcastctl.sqlite3", tmp_path / "media"
    store = Store(db_path)  # the as-run record opens the same file
    first = MediaLibrary(db_path, media, MediaConfig())
    clip = add_tone(first, tmp_path, 440, approved=True)
    first.close()
    again = MediaLibrary(db_path, media, MediaConfig())
    try:
        assert again.list() == [clip]
    finally:
        again.close()
        store.close()


def test_stale_staging_is_swept_and_an_orphan_folder_replaced(tmp_path: Path) -> None:
    media = tmp_path / "media"
    stale, fresh = media / "library" / ".staging-old", media / "library" / ".staging-new"
    lost = media / "library" / "0123456789ab"  # published, then a crash before its row
    for folder in (stale, fresh, lost):
        folder.mkdir(parents=True)
        (folder / "upload").write_bytes(b"x")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(lost, (old, old))
    lib = MediaLibrary(tmp_path / "db.sqlite3", media, MediaConfig())
    try:
        assert not stale.exists() and not lost.exists()
        assert fresh.exists()  # it may be another process's ingest, still running
        src = tone(tmp_path / "t.wav", seconds=1.5)
        orphan = media / "library" / hashlib.sha256(src.read_bytes()).hexdigest()[:12]
        orphan.mkdir()
        (orphan / "half-written").write_bytes(b"x")  # a crash between rename and insert
        clip, created = lib.ingest(src, title="t", uploader="u", source="cli",
                                   original_name="t.wav")  # fmt: skip
        assert created and sorted(p.name for p in orphan.iterdir()) == [
            "normalised.wav",
            "original.wav",
        ]
        assert clip.path.parent == orphan
    finally:
        lib.close()
