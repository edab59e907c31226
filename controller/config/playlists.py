"""Playlist files (`playlists/<name>.yaml`): which clips a slot airs, in what order."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from controller.config.schema_errors import schema_messages
from controller.config.yamlio import YamlError, read_mapping
from drivers.settings.types import parse_duration

# LED slogans live next to the playlists but are not one (another issue reads them).
NOT_PLAYLISTS = frozenset({"slogans.yaml"})
# A library clip's id; a file name always has a suffix, so the two cannot be confused.
CLIP_ID = re.compile(r"[0-9a-f]{12}")
Order = Literal["sequential", "shuffle"]


def _optional_duration(value: Any) -> float | None:
    return None if value is None else parse_duration(value)


OptionalDuration = Annotated[float | None, BeforeValidator(_optional_duration)]


class ClipRule(BaseModel):
    """`select:` picks library clips by tag and source; an empty rule picks every clip."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tags: tuple[str, ...] = Field(default=(), description="Clips with any of these tags.")
    source: tuple[str, ...] = Field(
        default=(), description="Clips from any of these sources (upload: the API; cli)."
    )

    @field_validator("tags", "source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def matches(self, tags: Collection[str], source: str) -> bool:
        """Whether a clip with these tags and this source is selected."""
        if self.tags and not set(self.tags) & set(tags):
            return False
        return not self.source or source in self.source


class PlaylistFile(BaseModel):
    """The shape of one playlist file, as an operator writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = Field(default=None, description="Name shown in the console.")
    order: Order = Field(default="sequential", description="Play order.")
    gap_s: OptionalDuration = Field(
        default=None, ge=0, le=600, description="Overrides audio.gap_s (0..600 s)."
    )
    select: ClipRule | None = Field(default=None, description="Library clips picked by rule.")
    clips: list[str] | None = Field(
        description="Files under station.media_dir (or the library's folder), or library clip"
        " ids (12 hex digits)."
    )

    @model_validator(mode="before")
    @classmethod
    def _clips_optional_with_select(cls, data: Any) -> Any:
        """With `select:`, `clips:` may be left out or empty (None here); without, it may not."""
        if isinstance(data, dict):
            if "select" in data and not data.get("clips"):
                return {**data, "clips": None}
            if "select" not in data and "clips" in data and data["clips"] is None:
                return {**data, "clips": []}
        return data

    @field_validator("clips")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError(
                "the playlist has no clips; list at least one file, or pick clips by rule"
                " (select: {tags: [反诈]})"
            )
        return value


class Playlist(BaseModel):
    """A loaded playlist: files that existed at load time, clip ids, and an optional rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="File name without .yaml; slots refer to it.")
    title: str = Field(description="Console name; the file's title, else its name.")
    order: Order = Field(default="sequential", description="Play order.")
    gap_s: float | None = Field(default=None, description="Silence between clips, if overridden.")
    clips: tuple[Path, ...] = Field(description="Absolute paths of the files listed, in order.")
    listed: tuple[Path | str, ...] = Field(
        default=(),
        description="Everything listed, as written: a Path is a file, a str a library clip id."
        " Defaults to `clips`.",
    )
    select: ClipRule | None = Field(default=None, description="Library clips picked by rule.")

    @model_validator(mode="before")
    @classmethod
    def _listed_defaults_to_clips(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("listed") and data.get("clips"):
            return {**data, "listed": tuple(data["clips"])}
        return data


def playlist_files(directory: Path) -> list[Path]:
    """The playlist files in `directory`, by name (none if the folder does not exist)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_PLAYLISTS)


def load_playlists(
    directory: Path, media_dir: Path, library_home: Path | None = None
) -> tuple[dict[str, Playlist], list[str]]:
    """Every playlist in `directory`, and a message for each problem in any of them."""
    playlists: dict[str, Playlist] = {}
    errors: list[str] = []
    for path in playlist_files(directory):
        playlist, problems = load_playlist(path, media_dir, library_home)
        errors += problems
        if playlist is not None:
            playlists[playlist.name] = playlist
    return playlists, errors


def load_playlist(
    path: Path, media_dir: Path, library_home: Path | None = None
) -> tuple[Playlist | None, list[str]]:
    """One playlist file; clip names resolve against `media_dir` and must exist there, or —
    a library file named by its path from before uploads left media_dir, library/<id>/… —
    under `library_home`."""
    try:
        data, at = read_mapping(path)
    except YamlError as exc:
        return None, exc.messages
    except OSError as exc:
        return None, [f"{path.name}: cannot read the playlist: {exc.strerror or exc}"]
    try:
        spec = PlaylistFile.model_validate(data)
    except ValidationError as exc:
        return None, schema_messages(exc, data, at)
    clips: list[Path] = []
    listed: list[Path | str] = []
    errors: list[str] = []
    for i, clip in enumerate(spec.clips or ()):
        relative = PurePath(clip)
        if CLIP_ID.fullmatch(clip):
            listed.append(clip)  # checked against the library when the playlist airs
        elif relative.is_absolute() or ".." in relative.parts:
            reason = f"{clip!r} must be a file inside {media_dir} (no absolute path, no ..)"
            errors.append(at.error(("clips", i), reason))
        elif (found := _find(relative, media_dir, library_home)) is None:
            errors.append(at.error(("clips", i), f"file {clip!r} not found in {media_dir}"))
        else:
            clips.append(found)
            listed.append(found)
    if errors:
        return None, errors
    playlist = Playlist(
        name=path.stem,
        title=spec.title or path.stem,
        order=spec.order,
        gap_s=spec.gap_s,
        clips=tuple(clips),
        listed=tuple(listed),
        select=spec.select,
    )
    return playlist, []


def _find(relative: PurePath, media_dir: Path, library_home: Path | None) -> Path | None:
    for folder in (media_dir, library_home):
        if folder is not None and _is_file(folder / relative):
            return folder / relative
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a 300-byte name (ENAMETOOLONG), a NUL from an escape
        return False
