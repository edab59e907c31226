"""A started Shelly driver against its double on Mosquitto, for the Shelly tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from doubles.shelly import ShellyDouble
from peers.mosquitto import Mosquitto, running_mqtt, unique_name

from controller.config.devices import ShellyRelayConfig
from drivers.relays.shelly import ShellyRelay
from drivers.transports.mqtt import MqttConnection

MakeShelly = Callable[..., ShellyDouble]


@pytest.fixture
def make_shelly() -> Iterator[MakeShelly]:
    """`make_shelly(broker, channels=2)` → a started double on a fresh prefix; stopped after."""
    doubles: list[ShellyDouble] = []

    def make(broker: Mosquitto, *, channels: int = 1) -> ShellyDouble:
        double = ShellyDouble(broker.host, broker.port, unique_name("shelly"), channels=channels)
        doubles.append(double)
        double.start()
        return double

    yield make
    for double in doubles:
        double.stop()


async def until(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


@asynccontextmanager
async def shelly_relay(
    broker: Mosquitto, double: ShellyDouble, client_id: str, *, check: bool = True, **cfg: Any
) -> AsyncIterator[tuple[ShellyRelay, MqttConnection]]:
    """A started driver; `check`: wait until it has read the device's clock and config."""
    options: dict[str, Any] = {"confirm_timeout_s": 0.3, "retries": 2, **cfg}
    config = ShellyRelayConfig(
        id="east", type="shelly", topic_prefix=double.topic_prefix, **options
    )
    async with running_mqtt(broker, client_id) as conn:
        relay = ShellyRelay(config, conn, src=f"{client_id}-src")
        await relay.start()
        try:
            assert await until(lambda: relay.health().available is True, 3), "no online=true"
            if check:
                assert await until(lambda: relay.settings_read, 3), "settings not read"
            yield relay, conn
        finally:
            await relay.stop()
