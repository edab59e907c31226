"""Slot timing of the real daemon: start error, length error, relay-confirmed-ON to audio start.

Runs `broadcastctl run` on a station with N short slots (Tasmota doubles on a Mosquitto started
here, a file air-check output), then reads the as-run record and the air-check files and prints
p50/p99/max, and the daemon's own log lines about late starts. `--burners N` runs N busy-loop
processes for the whole run (CPU starvation, as on a loaded station PC).
Usage: .venv/bin/python bench/daemon_timing.py [--airings 20] [--seconds 2] [--burners 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from doubles.tasmota import TasmotaDouble
from peers.daemon import Daemon, StationDir, station_time, wait_until
from peers.mosquitto import Mosquitto, unique_name

PREROLL = 1.0
RATE = 48000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, values: list[float], unit: str = "ms") -> str:
    """Median of the signed errors; p99 and max of their size (early and late both count)."""
    size = [abs(v) for v in values]
    return (
        f"{name:<40} p50 {statistics.median(values):8.2f}  |p99| {pct(size, 0.99):8.2f}"
        f"  |max| {max(size):8.2f} {unit}  (n={len(values)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--airings", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each airing")
    parser.add_argument("--burners", type=int, default=0, help="busy-loop processes to run")
    args = parser.parse_args()
    spacing = args.seconds + 2.0
    burn = "import time\nend = time.time() + 900\nwhile time.time() < end: pass"
    burners = [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(args.burners)]
    try:
        return run(args, spacing)
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()


def run(args: argparse.Namespace, spacing: float) -> int:

    broker = Mosquitto()
    broker.start()
    zone = TasmotaDouble(broker.host, broker.port, unique_name("zone"))
    zone.start()
    with tempfile.TemporaryDirectory(prefix="bench-timing-") as tmp:
        station = StationDir(Path(tmp))
        first = station_time(8)
        starts = [first + timedelta(seconds=i * spacing) for i in range(args.airings)]
        station.write_config(
            {
                "mqtt": {"host": broker.host, "port": broker.port},
                "relays": [{"id": "z", "type": "tasmota", "topic": zone.topic}],
                "zones": [{"id": "z", "name": "测试区", "relays": ["z:1"]}],
                "schedule": {
                    "preroll_s": PREROLL,
                    "postroll_s": 0.3,
                    "min_join_s": 1,
                    "slots": [
                        {
                            "name": f"s{i}",
                            "start": f"{t:%H:%M:%S}",
                            "duration": f"{args.seconds}s",
                            "playlist": "p",
                        }
                        for i, t in enumerate(starts)
                    ],
                },
            }
        )
        daemon = Daemon(station)
        daemon.start()
        print(
            f"{args.airings} airings of {args.seconds} s, first at {first:%H:%M:%S}; waiting…",
            file=sys.stderr,
        )
        wait_until(starts[-1], args.seconds + 2.0)
        daemon.stop()
        every = station.rows()
        rows = [r for r in every if r["outcome"] == "aired"]
        others = [(r["slot"], r["outcome"], r["reason"]) for r in every if r["outcome"] != "aired"]
        # a joined or resumed airing is shorter by design: only whole airings count here
        frames = [
            f for p, f in station.airchecks() if "-join" not in p.name and "-resume" not in p.name
        ]
        notes = [
            line.strip()
            for line in daemon.log_path.read_text(errors="replace").splitlines()
            if any(k in line for k in ("late:", "real-time", "Traceback", "ERROR", "stepped"))
        ]
    zone.stop()
    broker.close()

    for note in notes:
        print(f"daemon: {note}")
    blank = [r["slot"] for r in rows if not r["audio_start"] or not r["audio_end"]]
    if blank:
        print(f"aired without audio_start/audio_end: {blank}")
        rows = [r for r in rows if r["audio_start"] and r["audio_end"]]
    for slot, outcome, reason in others:
        print(f"not aired: {slot} {outcome} {reason}")
    if not rows:
        print(f"none of {args.airings} airings aired", file=sys.stderr)
        return 1
    ms = 1000.0
    start_err, length_err, relay_lead = [], [], []
    for r in rows:
        planned = datetime.fromisoformat(r["planned_start"])
        audio_start = datetime.fromisoformat(r["audio_start"])
        audio_end = datetime.fromisoformat(r["audio_end"])
        relay_on = datetime.fromisoformat(r["relay_on_at"])
        start_err.append((audio_start - planned).total_seconds() * ms)
        length_err.append(((audio_end - audio_start).total_seconds() - args.seconds) * ms)
        relay_lead.append(((audio_start - relay_on).total_seconds() - PREROLL) * ms)
    frame_err = [f - round(args.seconds * RATE) for f in frames]
    print(
        f"machine: {time.strftime('%Y-%m-%d')}, daemon process, Tasmota double over Mosquitto,"
        f" {args.burners} CPU burners"
    )
    print(line("slot start error (first frame - T)", start_err))
    print(line("slot length error (wall, last - first)", length_err))
    print(line("relay confirmed ON -> audio, - preroll", relay_lead))
    print(
        f"{'slot length error (air-check frames)':<40} max |error| {max(map(abs, frame_err))}"
        " frames"
        f" over {len(frames)} recordings"
    )
    print("goals: start p99 <= 20 ms; length <= 10 ms; relay->audio = preroll +/- 50 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
