"""Alert latency: from a relay going offline to the webhook receiving the alert (median).

A Tasmota double on a real Mosquitto drops off the network (its Last Will says Offline); the
engine (in-process, system clock, the product's Tasmota driver) watches its health and the
notifier POSTs to a local webhook receiver. `offline_after_s` is 0 here, so the figure is the
notifier's own path (health watch every 1 s, hysteresis, queue in SQLite, sender lane,
HTTP); on a station the configured minutes come on top. Between rounds the double comes back
and stays long enough for the all-clear. Usage:
.venv/bin/python bench/alert_latency.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from alert_receivers import Receiver
from doubles.tasmota import TasmotaDouble
from peers.daemon import StationDir
from peers.mosquitto import Mosquitto, unique_name

from controller.config import load_config
from controller.core.clock import SystemClock
from controller.engine.parts import build_engine


async def wait_kind(receiver: Receiver, kind: str, seen: int, timeout: float = 10.0) -> float:
    """The arrival time (monotonic) of the first `kind` request after the first `seen`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for got in receiver.received[seen:]:
            if got.body["kind"] == kind:
                return got.at
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no {kind} alert within {timeout} s")


async def measure(rounds: int, station: StationDir, double: TasmotaDouble,
                  receiver: Receiver) -> list[float]:  # fmt: skip
    parts = build_engine(load_config(station.root / "config.yaml"), SystemClock())
    await parts.start()
    samples = []
    try:
        await asyncio.sleep(2.0)  # the driver reads the double's settings once it is online
        for _ in range(rounds):
            # The health watch ticks each second and the all-clear lands on a tick: drop at a
            # random moment of the tick, as a device does.
            await asyncio.sleep(random.uniform(0.0, 1.0))
            seen = len(receiver.received)
            dropped = time.monotonic()
            double.go_offline()
            arrived = await wait_kind(receiver, "device_offline", seen)
            samples.append((arrived - dropped) * 1000)
            seen = len(receiver.received)
            double.start()
            await wait_kind(receiver, "device_back", seen)
    finally:
        await parts.stop()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    broker = Mosquitto()
    broker.start()
    double = TasmotaDouble(broker.host, broker.port, unique_name("zone"))
    double.start()
    receiver = Receiver()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
            station = StationDir(Path(tmp))
            station.write_config({
                "mqtt": {"host": broker.host, "port": broker.port},
                "relays": [{"id": "z", "type": "tasmota", "topic": double.topic}],
                "zones": [{"id": "z", "name": "测试区", "relays": ["z:1"]}],
                "alerts": {
                    "offline_after_s": 0, "stable_after_s": 0.5,
                    "channels": [{"name": "bench", "type": "webhook", "url": receiver.url,
                                  "max_per_minute": 60}],
                },
            })  # fmt: skip
            samples = asyncio.run(measure(args.rounds, station, double, receiver))
    finally:
        receiver.close()
        double.stop()
        broker.close()
    samples.sort()
    print(
        f"alert latency, relay offline → webhook received ({len(samples)} rounds, Tasmota "
        f"double on Mosquitto, offline_after_s 0): median {statistics.median(samples):.0f} ms, "
        f"min {samples[0]:.0f} ms, max {samples[-1]:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
