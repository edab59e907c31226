"""Loading config.yaml: strict YAML, the schema, absolute paths, playlists, cross-checks."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from controller.config.checks import run_checks
from controller.config.models import Config
from controller.config.playlists import Playlist, load_playlists, playlist_files
from controller.config.schema_errors import schema_messages
from controller.config.slogans import SloganEntry, load_slogans
from controller.config.yamlio import YamlError, read_mapping
from controller.core.stationtime import aware


class ConfigError(Exception):
    """The config cannot be used; `messages` are `file:line: key.path: reason` lines."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config with absolute paths, and the playlists it can air."""

    config: Config
    path: Path  # absolute
    root: Path  # the config file's folder: relative paths in it start here
    playlists: dict[str, Playlist]
    slogans: tuple[SloganEntry, ...] = ()

    def resolve(self, p: Path) -> Path:
        """`p` if absolute, else `p` under the config's folder."""
        return resolve_under(self.root, p)


def resolve_under(root: Path, p: Path) -> Path:
    p = p.expanduser()
    return p if p.is_absolute() else Path(os.path.normpath(root / p))


def load_config(path: Path) -> LoadedConfig:
    """Read, validate and cross-check `path`; raises ConfigError listing every problem found."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    try:
        data, at = read_mapping(path)
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: config file not found"]) from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc.strerror or exc}"]) from exc
    except YamlError as exc:
        raise ConfigError(exc.messages) from exc
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(schema_messages(exc, data, at)) from exc
    config = _absolute_paths(config, path.parent)
    config = _aware_blackouts(config)
    station = config.station
    playlists, errors = load_playlists(
        station.playlists_dir, station.media_dir, station.library_home
    )
    names = {p.stem for p in playlist_files(station.playlists_dir)}
    errors = run_checks(config, at, names) + errors
    led = config.led
    screens = [d for d in config.displays if led.displays == "all" or d.id in led.displays]
    slogans, slogan_errors = load_slogans(station.playlists_dir / f"{led.slogans}.yaml", screens)
    errors += slogan_errors
    if errors:
        raise ConfigError(errors)
    return LoadedConfig(config, path, path.parent, playlists, slogans)


def _absolute_paths(config: Config, root: Path) -> Config:
    station = config.station
    output = config.audio.output
    return config.model_copy(
        update={
            "station": station.model_copy(
                update={
                    "data_dir": resolve_under(root, station.data_dir),
                    "media_dir": resolve_under(root, station.media_dir),
                    "library_dir": resolve_under(root, station.library_home),
                    "playlists_dir": resolve_under(root, station.playlists_dir),
                }
            ),
            "audio": config.audio.model_copy(
                update={
                    "output": output.model_copy(update={"dir": resolve_under(root, output.dir)})
                }
            ),
        }
    )


def _aware_blackouts(config: Config) -> Config:
    """Blackout times written without an offset are station time."""
    tz = config.station.tz
    blackouts = [
        b.model_copy(update={"start": aware(b.start, tz), "end": aware(b.end, tz)})
        for b in config.blackouts
    ]
    return config.model_copy(update={"blackouts": blackouts})



def check_main(path: Path) -> int:
    """`broadcastctl check`: 0 and a confirmation if the config is usable, else 1 and the errors."""
    try:
        load_config(path)
    except ConfigError as exc:
        for message in exc.messages:
            print(message, file=sys.stderr)
        count = len(exc.messages)
        print(f"配置有误，共 {count} 处 / {count} error(s) in config", file=sys.stderr)
        return 1
    print(f"配置有效 / config OK: {path}")
    return 0
