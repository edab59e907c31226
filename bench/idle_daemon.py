"""The idle daemon's footprint: resident memory and CPU share over a minute with nothing on air.

Runs `broadcastctl run` on a copy of the shipped config.yaml (fake relays, file air-check; its
slots are hours away unless you happen to run this at 07:00, 12:00 or 18:00) and samples
/proc. Usage: .venv/bin/python bench/idle_daemon.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.daemon import ROOT, Daemon, StationDir


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def memory_kb(pid: int) -> dict[str, int]:
    out = {}
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = row.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "playlists", root / "playlists")
        shutil.copytree(ROOT / "audio", root / "audio")
        station = StationDir(root)
        # Edited as text: a PyYAML round trip would turn `start: 12:00` into 720.
        text = (ROOT / "config.yaml").read_text(encoding="utf-8")
        text = text.replace('listen: "127.0.0.1:8080"', f'listen: "127.0.0.1:{station.api_port}"')
        (root / "config.yaml").write_text(text, "utf-8")
        daemon = Daemon(station)
        daemon.start()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        time.sleep(5)  # let start-up settle (imports, first reconcile)
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        samples = []
        while time.monotonic() - t0 < args.seconds:
            time.sleep(min(5.0, args.seconds))
            samples.append(memory_kb(pid)["VmRSS"])
        cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0) * 100
        peak = memory_kb(pid)["VmHWM"]
        on_air = daemon.get("/api/status")["on_air"]
        daemon.stop()
    print(
        f"idle daemon over {args.seconds:.0f} s (shipped config, fake relays,"
        f" on air: {bool(on_air)})"
    )
    print(
        f"RSS median {sorted(samples)[len(samples) // 2] / 1024:.1f} MB, peak {peak / 1024:.1f} MB"
    )
    print(f"CPU {cpu:.2f} % of one core")
    print("goals: RSS <= 120 MB, CPU <= 1 % of a core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
