"""Slogan push to 20 Onbon screens: time from the rotator's tick to the card's ACK.

Twenty Onbon controller doubles (tests/doubles, TCP on loopback, served from a second thread
with its own event loop) and the product's rotator and Onbon driver. Usage:
.venv/bin/python bench/slogan_push.py [--screens 20] [--seconds 10] [--dwell 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from doubles.onbon_controller import OnbonControllerDouble

from controller.config.slogans import SloganEntry
from controller.core.clock import SystemClock
from controller.screens.rotator import SloganRotator
from drivers.displays.base import Color, Display
from drivers.displays.registry import build_display
from drivers.settings.devices import OnbonDisplayConfig

SLOGANS = ["六个一律：只要一谈到银行卡，一律挂掉！", "凡是自称公检法要求汇款的，都是诈骗！"]


class Timed:
    """Wraps a display; records tick → ACK of every show."""

    def __init__(self, inner: Display, samples: list[float]) -> None:
        self.inner, self.samples = inner, samples

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def show(self, text: str, *, color: Color | None = None, hold_s: float = 10.0) -> None:
        tick = time.perf_counter()
        await self.inner.show(text, color=color, hold_s=hold_s)
        self.samples.append((time.perf_counter() - tick) * 1000)


def serve_cards(
    count: int, ready: threading.Event, ports: list[int], stop: threading.Event
) -> None:
    async def main() -> None:
        cards = [OnbonControllerDouble() for _ in range(count)]
        for card in cards:
            await card.start()
            ports.append(card.port)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for card in cards:
            await card.stop()

    asyncio.run(main())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def push(ports: list[int], seconds: float, dwell: float) -> list[float]:
    samples: list[float] = []
    configs = [
        OnbonDisplayConfig(id=f"s{i}", type="onbon-bx6k", host="127.0.0.1", port=port)
        for i, port in enumerate(ports)
    ]
    displays = {c.id: build_display(c, mqtt=None) for c in configs}
    for d in displays.values():
        await d.start()
    # Timed forwards everything else to the real driver (__getattr__)
    timed = {k: cast(Display, Timed(v, samples)) for k, v in displays.items()}
    entries = [SloganEntry(text=t) for t in SLOGANS]
    rotator = SloganRotator(
        timed, configs, entries, dwell, SystemClock(), ZoneInfo("Asia/Shanghai")
    )
    await rotator.start()
    await asyncio.sleep(seconds)
    await rotator.stop()
    for d in displays.values():
        await d.stop()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--screens", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dwell", type=float, default=0.5)
    args = parser.parse_args()
    ready, stop = threading.Event(), threading.Event()
    ports: list[int] = []
    server = threading.Thread(target=serve_cards, args=(args.screens, ready, ports, stop))
    server.start()
    ready.wait(10)
    try:
        samples = asyncio.run(push(ports, args.seconds, args.dwell))
    finally:
        stop.set()
        server.join(10)
    print(
        f"{datetime.now():%Y-%m-%d}: {args.screens} Onbon doubles on loopback, dwell"
        f" {args.dwell} s, {len(samples)} pushes"
    )
    print(
        f"tick -> ACK  p50 {statistics.median(samples):.2f} ms  p99 {pct(samples, 0.99):.2f} ms"
        f"  max {max(samples):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
