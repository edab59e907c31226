"""Cross-check that every folder the station writes to is, or can become, a folder."""

from __future__ import annotations

import stat
from pathlib import Path

from controller.config.models import Config
from controller.config.yamlio import KeyPath, Locator


def check_folders_creatable(config: Config, at: Locator) -> list[str]:
    """data_dir, media_dir, the library's home and the air-check folder are created at start
    if missing; a file or a device where one of them, or a folder above it, should be would
    stop the daemon there."""
    station = config.station
    folders: list[tuple[KeyPath, Path]] = [
        (("station", "data_dir"), station.data_dir),
        (("station", "media_dir"), station.media_dir),
    ]
    # The library's home is <data_dir>/media unless set: a data_dir that cannot be is one error.
    if not station.library_home.is_relative_to(station.data_dir) or (
        folder_problem(station.data_dir) is None
    ):
        folders.append((("station", "library_dir"), station.library_home))
    if config.audio.output.type == "file":
        folders.append((("audio", "output", "dir"), config.audio.output.dir))
    errors = []
    for path, folder in folders:
        problem = folder_problem(folder)
        if problem is not None:
            errors.append(at.error(path, problem))
    return errors


def folder_problem(folder: Path) -> str | None:
    """Why `folder` (absolute) can neither be nor become a folder, or None if it can."""
    probe = folder
    while True:
        try:
            mode = probe.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            # Missing, to be created, or below a non-folder, which the next step up finds.
            if probe.parent == probe:
                return None
            probe = probe.parent
            continue
        except PermissionError:
            return None  # `check` may run as another user than the daemon: it cannot tell
        except OSError as exc:  # a symlink loop, a path too long once resolved
            return f"无法使用 {probe} / cannot use {probe}: {exc.strerror or exc}"
        if stat.S_ISDIR(mode):
            return None
        what = "a file" if stat.S_ISREG(mode) else "a device or special file"
        shown = "" if probe == folder else f", so {folder} cannot be one"
        return f"{probe} 不是文件夹 / {probe} is {what}, not a folder{shown}"
