"""What a playlist airs right now: listed files and library clips, approved and in validity."""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from controller.config.playlists import Playlist
from controller.core.stationtime import aware, midnight


class ClipLike(Protocol):
    """What resolution reads of a library clip (controller.media.library.Clip has it)."""

    @property
    def id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def tags(self) -> Collection[str]: ...
    @property
    def path(self) -> Path: ...
    @property
    def original_path(self) -> Path: ...
    @property
    def created_at(self) -> datetime: ...

    def playable(self, now: datetime) -> bool: ...


class ClipSource(Protocol):
    """The library, as far as resolution needs it: one read of every clip."""

    def list(self) -> Sequence[ClipLike]: ...


def resolve(playlist: Playlist, library: ClipSource, now: datetime) -> list[Path]:
    """The files `playlist` may air at `now`, in playlist order, each once.

    Listed entries come first, as written: a clip id airs if that clip is playable; a file
    that belongs to the library (its normalised copy or its original) airs as its clip's
    normalised copy if that clip is playable; any other file is station-provided (like the
    shipped sample) and airs while it exists. Clips picked by `select:` follow, oldest first.
    """
    clips = list(library.list())
    by_id = {c.id: c for c in clips}
    by_file = {p: c for c in clips for p in (c.path, c.original_path)}
    out: list[Path] = []

    def add(path: Path) -> None:
        if path not in out:
            out.append(path)

    for entry in playlist.listed:
        if isinstance(entry, str):
            clip = by_id.get(entry)
            if clip is not None and clip.playable(now):
                add(clip.path)
        # resolve(): the library keeps resolved paths, the config normalised ones; a symlink
        # between them must not make a pending clip look station-provided.
        elif (owner := by_file.get(entry) or by_file.get(entry.resolve())) is not None:
            if owner.playable(now):
                add(owner.path)
        elif entry.is_file():
            add(entry)
    rule = playlist.select
    if rule is not None:
        for clip in sorted(clips, key=lambda c: (c.created_at, c.id)):
            if rule.matches(clip.tags, clip.source) and clip.playable(now):
                add(clip.path)
    return out


def resolve_with_fallback(
    name: str,
    playlists: Mapping[str, Playlist],
    library: ClipSource,
    now: datetime,
    fallback: str | None,
) -> tuple[list[Path], bool]:
    """`name`'s files, or — when it resolves to nothing — the fallback playlist's, and whether
    the fallback was used. An empty list means silence: the caller records why."""
    playlist = playlists.get(name)
    paths = resolve(playlist, library, now) if playlist is not None else []
    if paths or fallback is None or fallback == name or fallback not in playlists:
        return paths, False
    return resolve(playlists[fallback], library, now), True


class Shuffler:
    """Shuffle without repeats: each playlist plays every clip once before any plays again.

    The state is per playlist name and follows the clips that are eligible at each pick, so a
    clip that expires mid-round is simply not picked, and a new one joins the current round.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._played: dict[str, set[Path]] = {}
        self._last: dict[str, Path] = {}

    def next(self, name: str, paths: Sequence[Path]) -> Path | None:
        """The next clip for playlist `name` among `paths` (None if there is none)."""
        if not paths:
            return None
        played = self._played.setdefault(name, set())
        left = [p for p in paths if p not in played]
        if not left:  # a new round; avoid playing the last clip twice in a row
            played.clear()
            left = [p for p in paths if p != self._last.get(name)] or list(paths)
        pick = self._rng.choice(left)
        played.add(pick)
        self._last[name] = pick
        return pick

    def forget(self, name: str) -> None:
        self._played.pop(name, None)
        self._last.pop(name, None)


def next_clip(
    playlist: Playlist, paths: Sequence[Path], previous: Path | None, shuffler: Shuffler
) -> Path | None:
    """The clip to play after `previous` (None at the start): the next in order, looping, or
    the shuffler's pick. For a clip boundary: resolve again, then call this."""
    if playlist.order == "shuffle":
        return shuffler.next(playlist.name, paths)
    if not paths:
        return None
    if previous in paths:
        return paths[(paths.index(previous) + 1) % len(paths)]
    return paths[0]


def parse_bound(text: str, tz: ZoneInfo, *, end: bool) -> datetime:
    """A validity bound as typed by a person: a date (the start of that day, or for an end the
    start of the next day, so the clip airs all of that day) or a date and time (station time
    when it has no offset). Raises ValueError with a bilingual message."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return midnight(day, tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"日期无效 / not a date or time: {text!r} (use 2027-06-30 or 2027-06-30T18:00)"
        ) from None
    return aware(moment, tz)
