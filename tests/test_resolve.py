"""Playlist resolution: approval and validity, rules, shuffle without repeats, the fallback."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from controller.config.playlists import ClipRule, Playlist, load_playlist
from controller.media.resolve import (
    Shuffler,
    next_clip,
    parse_bound,
    resolve,
    resolve_with_fallback,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 6, 1, 7, 0, tzinfo=SH)


@dataclass(frozen=True)
class FakeClip:
    id: str
    path: Path
    original_path: Path
    created_at: datetime
    status: str = "approved"
    source: str = "upload"
    tags: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def playable(self, now: datetime) -> bool:
        return (
            self.status == "approved"
            and (self.valid_from is None or self.valid_from <= now)
            and (self.valid_until is None or now < self.valid_until)
        )


@dataclass
class FakeLibrary:
    clips: list[FakeClip] = field(default_factory=list)
    reads: int = 0

    def list(self) -> Sequence[FakeClip]:
        self.reads += 1
        return self.clips


def clip(media: Path, n: int, **kw: object) -> FakeClip:
    cid = f"{n:012x}"
    fields: dict[str, object] = {"created_at": NOW - timedelta(days=10 - n), **kw}
    return FakeClip(cid, media / "lib" / f"{cid}.wav", media / "orig" / f"{cid}.mp3", **fields)  # type: ignore[arg-type]


def playlist(name: str = "p", **kw: object) -> Playlist:
    fields: dict[str, object] = {"name": name, "title": name, "clips": (), **kw}
    return Playlist.model_validate(fields)


def test_only_approved_clips_inside_their_window(tmp_path: Path) -> None:
    clips = [
        clip(tmp_path, 1),
        clip(tmp_path, 2, status="pending"),
        clip(tmp_path, 3, status="rejected"),
        clip(tmp_path, 4, status="retired"),
        clip(tmp_path, 5, valid_until=NOW),  # expired at 07:00 exactly
        clip(tmp_path, 6, valid_from=NOW + timedelta(hours=1)),  # not yet
        clip(tmp_path, 7, valid_from=NOW - timedelta(days=1), valid_until=NOW + timedelta(days=1)),
    ]
    library = FakeLibrary(clips)
    p = playlist(listed=tuple(c.id for c in clips))
    assert resolve(p, library, NOW) == [clips[0].path, clips[6].path]
    # An hour later clip 6 has started; a day later 7 has expired.
    later = resolve(p, library, NOW + timedelta(hours=1))
    assert later == [clips[0].path, clips[5].path, clips[6].path]
    assert resolve(p, library, NOW + timedelta(days=1)) == [clips[0].path, clips[5].path]
    assert library.reads == 3  # one library read per resolution


def test_listed_files_station_provided_or_library_owned(tmp_path: Path) -> None:
    sample = tmp_path / "sample" / "反诈提醒.mp3"
    sample.parent.mkdir()
    sample.write_bytes(b"ID3")
    pending = clip(tmp_path, 1, status="pending")
    approved = clip(tmp_path, 2)
    gone = tmp_path / "deleted.mp3"  # existed at load time, removed since
    library = FakeLibrary([pending, approved])
    listed = (sample, pending.original_path, approved.original_path, gone, approved.id)
    p = playlist(listed=listed)
    # The sample is not in the library: it always airs. A library clip listed by its original
    # airs as its normalised copy, once, and only if approved.
    assert resolve(p, library, NOW) == [sample, approved.path]
    # Through a symlinked media folder a pending clip is still recognised as the library's.
    (tmp_path / "orig").mkdir()
    pending.original_path.write_bytes(b"ID3")
    (tmp_path / "link").symlink_to(tmp_path)
    aliased = playlist(listed=(tmp_path / "link" / "orig" / pending.original_path.name,))
    assert resolve(aliased, library, NOW) == []


def test_select_by_tag_and_source_oldest_first_after_the_listed(tmp_path: Path) -> None:
    clips = [
        clip(tmp_path, 5, tags=("反诈",)),
        clip(tmp_path, 1, tags=("反诈", "养老")),
        clip(tmp_path, 2, tags=("天气",)),
        clip(tmp_path, 3, tags=("反诈",), source="cli"),
        clip(tmp_path, 4, tags=("反诈",), status="pending"),
    ]
    library = FakeLibrary(clips)
    by_tag = playlist(select=ClipRule(tags=("反诈",)), listed=(clips[0].id,))
    assert resolve(by_tag, library, NOW) == [clips[0].path, clips[1].path, clips[3].path]
    by_source = playlist(select=ClipRule(tags=("反诈", "天气"), source=("upload",)))
    assert resolve(by_source, library, NOW) == [clips[1].path, clips[2].path, clips[0].path]
    everything = playlist(select=ClipRule())
    assert len(resolve(everything, library, NOW)) == 4


def test_shuffle_plays_every_clip_once_per_round(tmp_path: Path) -> None:
    paths = [tmp_path / f"{n}.wav" for n in range(5)]
    shuffler = Shuffler(random.Random(7))
    p = playlist(order="shuffle")
    picks = []
    previous = None
    for _ in range(10):
        previous = next_clip(p, paths, previous, shuffler)
        picks.append(previous)
    assert sorted(picks[:5]) == paths and sorted(picks[5:]) == paths  # type: ignore[type-var]
    assert picks[4] != picks[5]  # no clip twice in a row across the round boundary
    assert picks[:5] != picks[5:]  # each round is shuffled anew (fixed seed)


def test_shuffle_follows_the_eligible_clips(tmp_path: Path) -> None:
    a, b, c, d = (tmp_path / f"{n}.wav" for n in "abcd")
    shuffler = Shuffler(random.Random(1))
    first = shuffler.next("p", [a, b, c])
    rest = [x for x in (a, b, c) if x != first]
    second = shuffler.next("p", [*rest, d])  # `first` expired, d was approved mid-round
    third = shuffler.next("p", [*rest, d])
    fourth = shuffler.next("p", [*rest, d])
    assert {second, third, fourth} == {*rest, d}
    assert shuffler.next("other", [a]) == a  # playlists keep separate state
    assert shuffler.next("p", []) is None


def test_sequential_next_clip_loops_and_restarts_when_the_previous_is_gone(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{n}.wav" for n in "abc")
    p, s = playlist(), Shuffler()
    assert next_clip(p, [a, b, c], None, s) == a
    assert next_clip(p, [a, b, c], b, s) == c
    assert next_clip(p, [a, b, c], c, s) == a
    assert next_clip(p, [a, c], b, s) == a
    assert next_clip(p, [], a, s) is None


def test_fallback_when_the_playlist_resolves_to_nothing(tmp_path: Path) -> None:
    sample = tmp_path / "sample.mp3"
    sample.write_bytes(b"ID3")
    expired = clip(tmp_path, 1, valid_until=NOW - timedelta(days=1))
    library = FakeLibrary([expired])
    playlists = {
        "police": playlist("police", select=ClipRule(tags=("反诈",)), listed=(expired.id,)),
        "house": playlist("house", clips=(sample,)),
    }
    assert resolve_with_fallback("police", playlists, library, NOW, "house") == ([sample], True)
    assert resolve_with_fallback("house", playlists, library, NOW, "house") == ([sample], False)
    assert resolve_with_fallback("police", playlists, library, NOW, None) == ([], False)
    assert resolve_with_fallback("gone", playlists, library, NOW, "house") == ([sample], True)
    later = [clip(tmp_path, 2, tags=("反诈",))]
    assert resolve_with_fallback("police", playlists, FakeLibrary(later), NOW, "house") == (
        [later[0].path],
        False,
    )


def test_a_playlist_file_with_ids_and_a_rule(tmp_path: Path) -> None:
    media = tmp_path / "audio"
    (media / "sample").mkdir(parents=True)
    (media / "sample" / "a.mp3").write_bytes(b"ID3")
    path = tmp_path / "police.yaml"
    text = (
        "title: 警方提醒\norder: shuffle\ngap_s: 1\n"
        "clips: [sample/a.mp3, 0123456789ab]\nselect: {tags: 反诈, source: [upload, cli]}\n"
    )
    path.write_text(text, encoding="utf-8")
    p, errors = load_playlist(path, media)
    assert errors == [] and p is not None
    assert p.order == "shuffle" and p.clips == (media / "sample" / "a.mp3",)
    assert p.listed == (media / "sample" / "a.mp3", "0123456789ab")
    assert p.select == ClipRule(tags=("反诈",), source=("upload", "cli"))
    path.write_text("select: {tags: [反诈]}\n", encoding="utf-8")
    p, errors = load_playlist(path, media)
    assert errors == [] and p is not None and p.clips == () and p.listed == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("select: {tag: x}\n", "p.yaml:1: select.tag: unknown key 'tag' (not allowed here)"),
        ("clips: []\nselect: {tags: [x]}\n", None),
        ("order: shuffle\nclips: []\n", "p.yaml:2: clips: the playlist has no clips"),
    ],
)
def test_rule_errors(tmp_path: Path, text: str, expected: str | None) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    p, errors = load_playlist(path, tmp_path)
    if expected is None:
        assert errors == [] and p is not None
    else:
        assert p is None and len(errors) == 1 and errors[0].startswith(expected)


def test_validity_bounds_as_typed() -> None:
    assert parse_bound("2027-06-30", SH, end=True) == datetime(2027, 7, 1, tzinfo=SH)
    assert parse_bound("2027-06-30", SH, end=False) == datetime(2027, 6, 30, tzinfo=SH)
    assert parse_bound("2027-06-30T18:00", SH, end=True) == datetime(2027, 6, 30, 18, tzinfo=SH)
    with pytest.raises(ValueError, match="not a date"):
        parse_bound("soon", SH, end=True)
