"""The one composition root: builds the services from config, starts and stops them in order."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from controller.clock import Clock, SystemClock
from controller.config import LoadedConfig
from controller.decode import ClipDecoder
from controller.player import Player, PlayerEvent
from controller.relaybank import PowerChain, RelayBank
from controller.runner import RunnerContext
from controller.scheduler import Waker
from controller.station import Station
from controller.store import Store
from drivers.audio.base import AudioOutput, PcmFormat
from drivers.audio.registry import build_output
from drivers.relays.base import RelayDevice
from drivers.relays.registry import build_relay
from drivers.transports.mqtt import MqttConnection

log = logging.getLogger(__name__)

MQTT_TYPES = {"tasmota"}


@dataclass
class Services:
    loaded: LoadedConfig
    clock: Clock
    store: Store
    mqtt: MqttConnection | None
    relays: dict[str, RelayDevice]
    station: Station
    output: AudioOutput

    async def start(self) -> None:
        if self.mqtt:
            await self.mqtt.start()
        for relay in self.relays.values():
            await relay.start()
        await self.station.start()

    async def stop(self) -> None:
        try:
            await self.station.stop()
        finally:
            for relay in self.relays.values():
                await relay.stop()
            if self.mqtt:
                await self.mqtt.stop()
            self.store.close()


def build_services(loaded: LoadedConfig, clock: Clock | None = None) -> Services:
    cfg = loaded.config
    clock = clock or SystemClock()
    store = Store(cfg.station.data_dir / "broadcastctl.sqlite3")
    mqtt = None
    if any(r.type in MQTT_TYPES for r in cfg.relays):
        mqtt = MqttConnection(cfg.mqtt, status_topic=f"broadcastctl/{cfg.station.name}/status")
    relays = {r.id: build_relay(r, mqtt=mqtt) for r in cfg.relays}
    bank = RelayBank(relays, clock)
    chain = PowerChain(bank, cfg.amplifiers, clock)
    fmt = PcmFormat(cfg.audio.sample_rate, cfg.audio.channels)
    output = build_output(cfg.audio.output)
    decoder = ClipDecoder(fmt)

    def new_player(on_event: Callable[[PlayerEvent], None]) -> Player:
        return Player(output, fmt, decoder, clock, on_event)

    ctx = RunnerContext(cfg, clock, store, bank, chain, loaded.playlists, new_player)
    station = Station(ctx, Waker(cfg.station.tz))
    if mqtt:
        mqtt.on_connection_change(station.on_mqtt_connection)
    return Services(loaded, clock, store, mqtt, relays, station, output)


def create_app(loaded: LoadedConfig, clock: Clock | None = None) -> FastAPI:
    from controller.api import router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Services]]:
        services = build_services(loaded, clock)
        await services.start()
        log.info("broadcastctl started (pid %d): %s", os.getpid(), loaded.path)
        try:
            yield {"services": services}
        finally:
            await services.stop()
            log.info("broadcastctl stopped")

    app = FastAPI(title="broadcastctl", version="0.1.0", lifespan=lifespan)
    app.include_router(router)
    return app
