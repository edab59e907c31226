"""Shared fixtures: a real Mosquitto broker and Tasmota device doubles on it; the virtual clock."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from clocks import VirtualAlarm, VirtualClock
from doubles.tasmota import TasmotaDouble
from peers.daemon import ROOT
from peers.mosquitto import Mosquitto, unique_name


def _broker() -> Iterator[Mosquitto]:
    broker = Mosquitto(verbose=True)  # logs every PUBLISH: see Mosquitto.received_publishes
    broker.start()
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """One broker for the session; tests keep apart by using their own topics."""
    yield from _broker()


@pytest.fixture
def mosquitto_private() -> Iterator[Mosquitto]:
    """A broker of this test's own, which it may stop, kill, freeze and restart."""
    yield from _broker()


@pytest.fixture
def make_tasmota() -> Iterator[Callable[..., TasmotaDouble]]:
    """`make_tasmota(broker, channels=2)` → a started double on a fresh topic; stopped after."""
    doubles: list[TasmotaDouble] = []

    def make(
        broker: Mosquitto, *, channels: int = 1, full_topic: str = "%prefix%/%topic%/"
    ) -> TasmotaDouble:
        double = TasmotaDouble(
            broker.host,
            broker.port,
            unique_name("tasmota"),
            channels=channels,
            full_topic=full_topic,
        )
        doubles.append(double)
        double.start()
        return double

    yield make
    for double in doubles:
        double.stop()


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the shipped station (config, playlists, sample clip) in a folder of its own."""
    for name in ("playlists", "audio"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path / "config.yaml"


@pytest.fixture
def host_in_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's own zone is UTC for this test (time-related tests: the station's zone,
    not the machine's, must decide every station-local day)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock (tests/clocks.py) for this test."""
    return VirtualClock()


@pytest.fixture
def me(clock: VirtualClock) -> Iterator[VirtualAlarm]:
    """This test thread, holding the clock: time moves only while it pauses."""
    with clock.hold() as hold:
        yield hold


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium per test process (tests/browser.py), shared by the console
    modules, each of which starts its own daemon."""
    from browser import chromium

    with chromium() as b:
        yield b
