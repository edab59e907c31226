"""The safety soak's full disk: the station folder on a small tmpfs, filled mid-airing."""

from __future__ import annotations

import gc
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.mosquitto import Mosquitto
from soak_assess import Case
from soak_station import WAKE_LEAD, Phase, make_slots, sleep_until


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[str | None]:
    """Mount a tmpfs at `path`; yields None if mounted, else why not."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        yield (done.stderr or done.stdout).strip() or f"mount exited {done.returncode}"
        return
    try:
        yield None
    finally:
        gc.collect()  # peers.daemon's sqlite3 connections are closed only when collected
        for attempt in range(20):
            done = subprocess.run(["umount", str(path)], capture_output=True, text=True)
            if done.returncode == 0:
                break
            if attempt == 19:
                print(
                    f"    ! umount {path}: {done.stderr.strip()}; held by {holders(path)};"
                    " unmounting lazily",
                    file=sys.stderr,
                )
                subprocess.run(["umount", "-l", str(path)], check=False)
            time.sleep(0.5)


def holders(path: Path) -> list[str]:
    """Processes with a file, cwd or mapping under `path` (why an umount is refused)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = [os.readlink(p) for p in (proc / "fd").iterdir()] + [os.readlink(proc / "cwd")]
            maps = (proc / "maps").read_text(errors="replace")
        except OSError:
            continue
        if any(link.startswith(str(path)) for link in links) or str(path) in maps:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name} {cmd[:80]}")
    return found


def fill(path: Path) -> int:
    """Write `path` until the file system is full; the bytes written."""
    written = 0
    chunk = b"\0" * (1 << 20)
    with path.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            piece = chunk[:size]
            while True:
                try:
                    written += out.write(piece) or 0
                except OSError:
                    break
    return written


def run_disk_full(
    rng: random.Random, broker: Mosquitto, tmp: Path, log_dir: Path
) -> tuple[Phase | None, list[Case], str]:
    """The station folder on a 16 MiB tmpfs, filled mid-airing of slot 1; slot 2 airs on the
    full disk; the filler goes after slot 2; slot 3 airs after."""
    root = tmp / "diskfull"
    with tmpfs(root, "16m") as why:
        if why is not None:
            return None, [], f"disk full: skipped (mount tmpfs failed: {why})"
        slots = make_slots(rng, 3, 7, "d")
        aircheck = tmp / "diskfull-aircheck"  # the audio output is not what fails here
        phase = Phase("diskfull", broker, root, slots, aircheck=aircheck, log_dir=log_dir)
        first, second = slots[0], slots[1]
        case1 = Case("disk_full", "filled on air", first, first.t + first.seconds / 2)
        case2 = Case("disk_full", "airing on a full disk", second, second.t - WAKE_LEAD)
        phase.start()
        sleep_until(case1.planned_at)
        case1.at = time.time()
        filler = root / "filler.bin"
        written = fill(filler)
        case1.note = f"{written / 2**20:.1f} MiB filler at T{case1.at - first.t:+.2f}s"
        case2.at = case2.planned_at
        sleep_until(second.window[1] + 1.0)
        filler.unlink()
        case2.back_at = time.time()
        case2.note = f"filler removed T{case2.back_at - second.t:+.2f}s"
        print(f"  disk full: {case1.note}; {case2.note}", file=sys.stderr)
        phase.finish()
        return phase, [case1, case2], ""
