"""A launcher that runs ingest's ffmpeg at the lowest CPU and I/O priority under an
address-space cap: decoding an upload must never compete with the air (issue 9)."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
LAUNCHER = "ffmpeg-lowprio"
_SCRIPT = """#!/bin/sh
# Written by broadcastctl at each start (controller/media/lowprio.py): ingest's ffmpeg at
# nice 19, I/O class idle, at most {mb} MiB of address space.
ulimit -v {kib} || exit 126
exec {argv} "$@"
"""


def low_priority_ffmpeg(ffmpeg: str, folder: Path, memory_mb: int) -> str:
    """The path of a launcher for `ffmpeg` (written into `folder`), or `ffmpeg` itself if no
    launcher works here (a noexec folder, say): then ingest runs at normal priority."""
    nice, ionice = shutil.which("nice"), shutil.which("ionice")
    prefixes = []
    if nice and ionice:
        prefixes.append([nice, "-n", "19", ionice, "-c", "3"])
    if nice:
        prefixes.append([nice, "-n", "19"])
    prefixes.append([])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LAUNCHER
    for prefix in prefixes:
        _write(path, [*prefix, ffmpeg], memory_mb)
        if _works(path):
            shown = " ".join(prefix) or "normal priority"
            log.info("ingest ffmpeg: %s, address space ≤ %d MiB", shown, memory_mb)
            return str(path)
    log.warning("ingest ffmpeg runs at normal priority, uncapped: %s does not start", path)
    path.unlink(missing_ok=True)
    return ffmpeg


def _write(path: Path, argv: list[str], memory_mb: int) -> None:
    text = _SCRIPT.format(mb=memory_mb, kib=memory_mb * 1024, argv=shlex.join(argv))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, path)


def _works(path: Path) -> bool:
    try:
        done = subprocess.run(
            [str(path), "-hide_banner", "-version"], capture_output=True, timeout=20, check=False
        )
    except OSError:
        return False
    return done.returncode == 0
