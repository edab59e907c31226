"""A started Tasmota driver against its double on Mosquitto, for the Tasmota tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from doubles.tasmota import TasmotaDouble
from peers.mosquitto import Mosquitto, running_mqtt

from controller.config.devices import TasmotaRelayConfig
from drivers.relays.tasmota import TasmotaRelay
from drivers.transports.mqtt import MqttConnection

MakeTasmota = Callable[..., TasmotaDouble]


async def until(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def switched(published: list[tuple[str, bool]]) -> list[str]:
    """The relay commands among what a client published (the settings queries do not switch)."""
    return [t for t, _r in published if t.rsplit("/", 1)[-1].upper() in ("POWER1", "PULSETIME1")]


@asynccontextmanager
async def tasmota_relay(
    broker: Mosquitto, double: TasmotaDouble, client_id: str, *, check: bool = True, **cfg: Any
) -> AsyncIterator[tuple[TasmotaRelay, MqttConnection]]:
    """A started driver; `check`: wait until it has read the device's settings."""
    options: dict[str, Any] = {"confirm_timeout_s": 0.3, "retries": 2, **cfg}
    config = TasmotaRelayConfig(id="east", type="tasmota", topic=double.topic, **options)
    async with running_mqtt(broker, client_id) as conn:
        relay = TasmotaRelay(config, conn)
        await relay.start()
        try:
            assert await until(lambda: relay.health().available is True, 3), "no LWT Online"
            if check:
                assert await until(lambda: relay.settings() is not None, 3), "settings not read"
            yield relay, conn
        finally:
            await relay.stop()
