"""Emergency latency on the real daemon, and /api/status under load.

Runs `broadcastctl run` with an amplifier chain and two zones on Tasmota doubles (Mosquitto
started here), then, N times each:
  cold:   the station idle → POST /api/emergency → zone relay confirmed ON → first audio frame
          (goal: audio within preroll_s + 0.5 s, plus the amplifier settle times when cold);
  warm:   a slot on air on the zone → POST /api/emergency → first audio frame (the zone is
          taken over: no preroll);
  resume: emergency's last frame → the displaced slot's first frame again (goal ≤ 1 s).
Finally GET /api/status at a fixed 200 requests/s for 10 s (open loop, from this process's
threads, one keep-alive connection each; the daemon is another process): latency p50/p99
(goal p99 ≤ 25 ms).
Times come from the as-run record (first/last frame on the daemon's clock) and the wall clock
of this process around the HTTP call. Usage: .venv/bin/python bench/emergency.py [--n 5]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from doubles.tasmota import TasmotaDouble
from peers.daemon import SH, Daemon, StationDir
from peers.mosquitto import Mosquitto, unique_name

from controller.access.users import UserStore
from controller.core.airing_id import AiringId

PREROLL, SETTLE = 1.0, 0.5


def ts(text: str | None) -> float:
    assert text is not None
    return datetime.fromisoformat(text).timestamp()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def show(name: str, values: list[float], unit: str = "s") -> None:
    print(
        f"{name:<44} median {statistics.median(values):7.3f}  min {min(values):7.3f}"
        f"  max {max(values):7.3f} {unit}  (n={len(values)})"
    )


def rows_of(station: StationDir, airing_id: str) -> dict[str, dict[str, object]]:
    return {str(r["zone"]): r for r in station.rows() if r["airing_id"] == airing_id}


def wait_rows(
    station: StationDir, airing_id: str, timeout: float = 30.0
) -> dict[str, dict[str, object]]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = rows_of(station, airing_id)
        if found and all(r["outcome"] for r in found.values()):
            return found
        time.sleep(0.2)
    raise TimeoutError(f"no closed rows for {airing_id}")


def status_load(port: int, rate: float, seconds: float, threads: int = 8) -> list[float]:
    """GET /api/status at `rate` requests/s (open loop, spread over threads)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = rate / threads
    stop_at = time.monotonic() + seconds

    def worker(offset: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        due = time.monotonic() + offset
        while due < stop_at:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            conn.request("GET", "/api/status")
            response = conn.getresponse()
            response.read()
            took = (time.perf_counter() - began) * 1000
            assert response.status == 200
            with lock:
                latencies.append(took)
            due += 1 / per_thread

    pool = [threading.Thread(target=worker, args=(i / rate,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5, help="emergencies of each kind")
    args = parser.parse_args()
    broker = Mosquitto()
    broker.start()
    rack = TasmotaDouble(broker.host, broker.port, unique_name("rack"))
    zone = TasmotaDouble(broker.host, broker.port, unique_name("zone"))
    rack.start()
    zone.start()
    cold: list[float] = []
    cold_relay: list[float] = []
    warm: list[float] = []
    resume: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-emergency-") as tmp:
        station = StationDir(Path(tmp))
        first = datetime.now(SH).replace(microsecond=0) + timedelta(seconds=40)
        slots = [first + timedelta(seconds=30 * i) for i in range(args.n)]
        station.write_config(
            {
                "mqtt": {"host": broker.host, "port": broker.port},
                "relays": [
                    {"id": "rack", "type": "tasmota", "topic": rack.topic},
                    {"id": "z", "type": "tasmota", "topic": zone.topic},
                ],
                "amplifiers": [{"relay": "rack:1", "settle_s": SETTLE}],
                "zones": [{"id": "z", "name": "测试区", "relays": ["z:1"]}],
                "schedule": {
                    "preroll_s": PREROLL, "postroll_s": 0.3, "min_join_s": 1,
                    "slots": [
                        {"name": f"s{i}", "start": f"{t:%H:%M:%S}", "duration": "12s",
                         "playlist": "p"}
                        for i, t in enumerate(slots)
                    ],
                },
            }
        )  # fmt: skip
        users = UserStore(station.db)
        token = users.add("bench", "operator")
        users.close()
        daemon = Daemon(station)
        daemon.start()

        def fire(identifier: str) -> tuple[float, dict[str, object]]:
            """POST an emergency; when it was asked for, and its closed as-run row."""
            asked = time.time()
            code, alert = daemon.send("POST", "/api/emergency", {
                "identifier": identifier, "status": "exercise", "zones": "all",
                "playlist": "p", "reason": "bench",
            }, token)  # fmt: skip
            assert code == 201, alert
            return asked, wait_rows(station, alert["airing_id"])["z"]

        try:
            for i in range(args.n):  # idle: the chain and the zone start cold
                asked, row = fire(f"cold-{i}")
                cold.append(ts(str(row["audio_start"])) - asked)
                cold_relay.append(ts(str(row["relay_on_at"])) - asked)
                time.sleep(1.0)
            for i, start in enumerate(slots):  # during a slot on the same zone
                wait = (start - datetime.now(SH)).total_seconds() + 2.0
                if wait < 0:
                    print(f"slot {i} already past; skipped", file=sys.stderr)
                    continue
                time.sleep(wait)
                asked, row = fire(f"warm-{i}")
                warm.append(ts(str(row["audio_start"])) - asked)
                segment = AiringId.for_slot(f"s{i}", start).resumed(1)
                resumed = wait_rows(station, str(segment))["z"]
                resume.append(ts(str(resumed["audio_start"])) - ts(str(row["audio_end"])))
            latencies = status_load(station.api_port, 200.0, 10.0)
        finally:
            daemon.stop()
            rack.stop()
            zone.stop()
            broker.close()
    print(f"preroll_s {PREROLL}, amplifier settle {SETTLE} s; goal: preroll + 0.5 s "
          f"(+ settle when cold) = {PREROLL + SETTLE + 0.5:.1f} s")  # fmt: skip
    show("cold: API call → zone relay confirmed ON", cold_relay)
    show("cold: API call → first audio frame", cold)
    show("warm (slot on air): API call → first frame", warm)
    show("emergency last frame → slot resumed", resume)
    print(
        f"{'GET /api/status at 200 req/s for 10 s':<44} p50 {statistics.median(latencies):6.2f}"
        f"  p99 {pct(latencies, 0.99):6.2f}  max {max(latencies):6.2f} ms"
        f"  (n={len(latencies)}, {len(latencies) / 10:.0f} req/s achieved)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
