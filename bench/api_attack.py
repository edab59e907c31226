"""The air under HTTP attack (issue 9): the real daemon, one slot a few seconds ahead on a fake
relay with the file output, and one load at a time on 127.0.0.1 — 1,100 half-open connections,
45 concurrent uploads of a tiny file of ten minutes of silence, 2,000 logins with forged
X-Forwarded-For — plus a control run without load. Prints, per load, the medians over the
runs of: airing start error (first frame − T), air-check lag (most the FLAC air-check fell
behind wall time; it grows a FLAC frame, 4096 audio frames or 85 ms, at a time, so 85 ms of lag
is the encoder's and only what lies beyond is the player's), and 停播 (POST /api/stop) latency
under the load.
Usage: .venv/bin/python bench/api_attack.py [--runs 3] [--only uploads]
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import contextlib

from peers.daemon import Daemon, StationDir, station_time, wait_until

from controller.access.users import UserStore

LEAD_S, LENGTH_S, STOP_AT_S = 8.0, 8.0, 5.0  # slot T = now + LEAD_S; 停播 at T + STOP_AT_S
RATE = 48000  # the air-check's frames per second
BOUNDARY = "bench-boundary"


class Load:
    """A load running in threads until stopped; every loop is bounded."""

    def __init__(self, port: int) -> None:
        self.port, self.done = port, threading.Event()
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []

    def spawn(self, fn: Callable[[], None], count: int) -> None:
        for _ in range(count):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> None:
        self.done.set()
        for s in self.sockets:
            s.close()
        for t in self.threads:
            t.join(timeout=60)


def post(port: int, path: str, body: bytes, headers: dict[str, str], timeout: float = 60) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def half_open(load: Load) -> None:
    for _ in range(1100):
        with contextlib.suppress(OSError):
            load.sockets.append(socket.create_connection(("127.0.0.1", load.port), timeout=5))


def uploads(load: Load, token: str, audio: bytes) -> None:
    body = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.flac\"\r\n"
        "Content-Type: audio/flac\r\n\r\n"
    ).encode() + audio + f"\r\n--{BOUNDARY}--\r\n".encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }

    def one() -> None:
        for _ in range(5):  # each thread re-sends while the load lasts, five times at most
            if load.done.is_set():
                return
            post(load.port, "/api/media", body, headers, timeout=120)

    load.spawn(one, 45)


def logins(load: Load) -> None:
    counter = iter(range(2000))
    lock = threading.Lock()

    def one() -> None:
        while not load.done.is_set():
            with lock:
                i = next(counter, None)
            if i is None:
                return
            body = json.dumps({"user": "wang", "password": f"guess-{i:05d}"}).encode()
            forged = f"198.51.{i // 256}.{i % 256}"
            headers = {"Content-Type": "application/json", "X-Forwarded-For": forged}
            post(load.port, "/api/login", body, headers, timeout=30)

    load.spawn(one, 50)


def silence(path: Path) -> bytes:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "anullsrc=r=8000:cl=mono", "-t", "600", "-c:a", "flac", str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def one_run(kind: str, audio: bytes) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-attack-") as tmp:
        station = StationDir(Path(tmp))
        start = station_time(LEAD_S)
        station.write_config(
            {
                "relays": [{"id": "v", "type": "fake", "channels": 1}],
                "zones": [{"id": "z", "name": "测试区", "relays": ["v:1"]}],
                "schedule": {
                    "preroll_s": 1, "postroll_s": 0.3, "min_join_s": 1,
                    "slots": [{"name": "s", "start": f"{start:%H:%M:%S}",
                               "duration": f"{LENGTH_S}s", "playlist": "p"}],
                },
            }
        )  # fmt: skip
        users = UserStore(station.db)
        token = users.add("wang", "operator")
        users.set_password("wang", "caozuo-2027")
        users.close()
        daemon = Daemon(station)
        daemon.start()
        load = Load(station.api_port)
        try:
            if kind == "half-open":
                half_open(load)
            elif kind == "uploads":
                uploads(load, token, audio)
            elif kind == "logins":
                logins(load)
            sizes = watch_aircheck(station.root / "var" / "aircheck", start)
            began = time.monotonic()
            status = post(
                station.api_port, "/api/stop", json.dumps({"reason": "bench"}).encode(),
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )  # fmt: skip
            stop_s = time.monotonic() - began if status == 200 else float("nan")
        finally:
            load.stop()
            daemon.stop()
        rows = station.rows()
        samples = frames_at(station.root / "var" / "aircheck", sizes)
    audio_start = datetime.fromisoformat(rows[0]["audio_start"]) if rows else None
    if audio_start is None:
        return float("nan"), float("nan"), stop_s
    start_err = (audio_start - start).total_seconds()
    first = audio_start.timestamp()
    lag = max(((t - first) - frames / RATE for t, frames in samples if t > first), default=0)
    return start_err, lag, stop_s


def watch_aircheck(folder: Path, start: datetime) -> list[tuple[float, int]]:
    """(wall time, air-check bytes) every 20 ms from T until T + STOP_AT_S."""
    wait_until(start)
    samples = []
    end = start.timestamp() + STOP_AT_S
    while (now := time.time()) < end:
        files = sorted(folder.glob("*.flac"))
        if files:
            samples.append((now, files[-1].stat().st_size))
        time.sleep(0.02)
    return samples


def frames_at(folder: Path, sizes: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """(wall time, audio frames whole in the air-check's first bytes then), read from where
    each FLAC frame of the finished file ends (ffmpeg's per-packet sizes)."""
    files = sorted(folder.glob("*.flac"))
    if not files:
        return []
    listing = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(files[-1]), "-c", "copy",
         "-f", "framecrc", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    packets = [line.split(",") for line in listing.splitlines() if not line.startswith("#")]
    ends, upto, total = [], [], 0
    for packet in packets:  # stream, dts, pts, duration, size, crc
        total += int(packet[4])
        ends.append(total)
        upto.append(int(packet[2]) + int(packet[3]))
    header = files[-1].stat().st_size - total
    return [
        (t, max((f for end, f in zip(ends, upto, strict=True) if header + end <= size), default=0))
        for t, size in sizes
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["control", "half-open", "uploads", "logins"])
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the bench holds 1,100 sockets
    kinds = [args.only] if args.only else ["control", "half-open", "uploads", "logins"]
    with tempfile.TemporaryDirectory() as tmp:
        audio = silence(Path(tmp) / "silence.flac")
    print(f"daemon process, fake relay, file output; {args.runs} run(s) per load; medians")
    print(f"{'load':<12} {'start error ms':>15} {'air-check lag ms':>17} {'停播 latency ms':>16}")
    for kind in kinds:
        results = [one_run(kind, audio) for _ in range(args.runs)]
        start_err, lag, stop = (statistics.median(r[i] for r in results) for i in range(3))
        print(f"{kind:<12} {start_err * 1000:15.1f} {lag * 1000:17.1f} {stop * 1000:16.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
