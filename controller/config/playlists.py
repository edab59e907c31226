"""Playlist files (`playlists/<name>.yaml`): which clips a slot airs, in what order."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from controller.config.checks import schema_messages
from controller.config.types import parse_duration
from controller.config.yamlio import YamlError, read_mapping

# LED slogans live next to the playlists but are not one (another issue reads them).
NOT_PLAYLISTS = frozenset({"slogans.yaml"})


def _optional_duration(value: Any) -> float | None:
    return None if value is None else parse_duration(value)


OptionalDuration = Annotated[float | None, BeforeValidator(_optional_duration)]


class PlaylistFile(BaseModel):
    """The shape of one playlist file, as an operator writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = Field(default=None, description="Name shown in the console.")
    order: Literal["sequential"] = Field(default="sequential", description="Play order.")
    gap_s: OptionalDuration = Field(default=None, description="Overrides audio.gap_s.")
    clips: list[str] = Field(description="Clip files, relative to station.media_dir.")

    @field_validator("clips")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("the playlist has no clips; list at least one file")
        return value


class Playlist(BaseModel):
    """A loaded playlist: clips are absolute paths to files that existed at load time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="File name without .yaml; slots refer to it.")
    title: str = Field(description="Console name; the file's title, else its name.")
    order: Literal["sequential"] = Field(default="sequential", description="Play order.")
    gap_s: float | None = Field(default=None, description="Silence between clips, if overridden.")
    clips: tuple[Path, ...] = Field(description="Absolute clip paths, in play order.")


def playlist_files(directory: Path) -> list[Path]:
    """The playlist files in `directory`, by name (none if the folder does not exist)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_PLAYLISTS)


def load_playlists(directory: Path, media_dir: Path) -> tuple[dict[str, Playlist], list[str]]:
    """Every playlist in `directory`, and a message for each problem in any of them."""
    playlists: dict[str, Playlist] = {}
    errors: list[str] = []
    for path in playlist_files(directory):
        playlist, problems = load_playlist(path, media_dir)
        errors += problems
        if playlist is not None:
            playlists[playlist.name] = playlist
    return playlists, errors


def load_playlist(path: Path, media_dir: Path) -> tuple[Playlist | None, list[str]]:
    """One playlist file; clip names resolve against `media_dir` and must exist there."""
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
    errors: list[str] = []
    for i, clip in enumerate(spec.clips):
        relative = PurePath(clip)
        if relative.is_absolute() or ".." in relative.parts:
            reason = f"{clip!r} must be a file inside {media_dir} (no absolute path, no ..)"
            errors.append(at.error(("clips", i), reason))
        elif not (media_dir / relative).is_file():
            errors.append(at.error(("clips", i), f"file {clip!r} not found in {media_dir}"))
        else:
            clips.append(media_dir / relative)
    if errors:
        return None, errors
    playlist = Playlist(
        name=path.stem,
        title=spec.title or path.stem,
        order=spec.order,
        gap_s=spec.gap_s,
        clips=tuple(clips),
    )
    return playlist, []
