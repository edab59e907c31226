"""The one composition root: builds the services from config, starts and stops them in order."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from starlette.types import Scope

from controller.asrun_journal import AsRunJournal
from controller.audit import AuditLog
from controller.blackouts import BlackoutStore
from controller.bodylimit import BodyLimitMiddleware, BodyPace
from controller.clock import Clock, SystemClock
from controller.config import LoadedConfig
from controller.decode import ClipDecoder, find_ffmpeg
from controller.media.ingest import upload_limit_bytes
from controller.media.library import MediaLibrary
from controller.media.lowprio import low_priority_ffmpeg
from controller.onair import RunnerContext
from controller.overrides import OverrideStore
from controller.planner import Airing, Blackout
from controller.player import Player, PlayerEvent
from controller.relaybank import PowerChain, RelayBank, RelayObserver
from controller.rotator import SloganRotator
from controller.scheduler import Waker
from controller.station import Station
from controller.store import Store
from controller.users import UserStore
from drivers.audio.base import AudioOutput, PcmFormat
from drivers.audio.registry import build_output
from drivers.displays.base import Display
from drivers.displays.registry import build_display
from drivers.relays.base import RelayDevice
from drivers.relays.registry import build_relay, needs_mqtt
from drivers.transports.mqtt import MqttConnection
from drivers.transports.serial import SerialBuses

log = logging.getLogger(__name__)

BODY_LIMIT = 1_048_576  # any request but an upload: JSON bodies are small
FORM_ALLOWANCE = 64 * 1024  # an upload's text fields and multipart framing, beyond the file


@dataclass
class Services:
    loaded: LoadedConfig
    clock: Clock
    store: Store
    mqtt: MqttConnection | None
    relays: dict[str, RelayDevice]
    station: Station
    output: AudioOutput
    users: UserStore
    audit: AuditLog
    media: MediaLibrary
    displays: dict[str, Display]
    rotator: SloganRotator
    blackouts: BlackoutStore
    overrides: OverrideStore
    journal: AsRunJournal  # the engine's writes to the as-run record (off the event loop)
    engine_reads: tuple[MediaLibrary, BlackoutStore, OverrideStore] | None = None

    async def start(self) -> None:
        if self.mqtt:
            await self.mqtt.start()
        for relay in self.relays.values():
            await relay.start()
        for display in self.displays.values():
            await display.start()
        await self.station.start()
        await self.rotator.start()

    async def stop(self) -> None:
        try:
            await self.rotator.stop()
            await self.station.stop()
        finally:
            for relay in self.relays.values():
                await relay.stop()
            for display in self.displays.values():
                await display.stop()
            if self.mqtt:
                await self.mqtt.stop()
            for closing in (
                self.journal,
                self.store,
                self.users,
                self.audit,
                self.media,
                self.blackouts,
                self.overrides,
                *(self.engine_reads or ()),
            ):
                closing.close()


def build_services(
    loaded: LoadedConfig, clock: Clock | None = None, relay_observer: RelayObserver | None = None
) -> Services:
    cfg = loaded.config
    clock = clock or SystemClock()
    db = cfg.station.data_dir / "broadcastctl.sqlite3"
    store = Store(db)
    journal = AsRunJournal(db, clock=clock)
    mqtt = None
    if any(needs_mqtt(r) for r in cfg.relays) or any(d.type == "mqtt-text" for d in cfg.displays):
        mqtt = MqttConnection(cfg.mqtt, status_topic=f"broadcastctl/{cfg.station.name}/status")
    buses = SerialBuses()  # one per port: boards and screens on one RS-485 line take turns
    relays = {r.id: build_relay(r, mqtt=mqtt, buses=buses) for r in cfg.relays}
    bank = RelayBank(relays, clock, relay_observer)
    chain = PowerChain(bank, cfg.amplifiers, clock)
    fmt = PcmFormat(cfg.audio.sample_rate, cfg.audio.channels)
    output = build_output(cfg.audio.output)
    decoder = ClipDecoder(fmt)

    def new_player(on_event: Callable[[PlayerEvent], None]) -> Player:
        return Player(output, fmt, decoder, clock, on_event)

    # Decoding an upload runs at the lowest priority, its memory capped (issue 9).
    run_dir, memory_mb = cfg.station.data_dir / "run", cfg.media.ffmpeg_memory_mb
    ffmpeg = low_priority_ffmpeg(find_ffmpeg(), run_dir, memory_mb)
    media = MediaLibrary(db_path=db, media_dir=cfg.station.media_dir, cfg=cfg.media, ffmpeg=ffmpeg)
    # The engine (and the player thread, at each clip boundary) reads the library, blackouts
    # and overrides through connections of its own: an API thread holding one of those
    # stores' locks, say a write waiting for another process, never holds up the air.
    engine_media = MediaLibrary(db, cfg.station.media_dir, cfg.media, ffmpeg=ffmpeg)
    engine_blackouts, engine_overrides = BlackoutStore(db, clock), OverrideStore(db, clock)
    ctx = RunnerContext(
        cfg, clock, journal, bank, chain, loaded.playlists, new_player, engine_media
    )
    station = Station(ctx, Waker(cfg.station.tz, clock=clock))
    if mqtt:
        mqtt.on_connection_change(station.on_mqtt_connection)
    users, audit = UserStore(db), AuditLog(db, clock)
    blackouts = BlackoutStore(db, clock)
    station.add_blackout_source(engine_blackouts.active)
    overrides = OverrideStore(db, clock)
    zone_ids = [z.id for z in cfg.zones]

    def override_airings(quiet: list[Blackout], begin: datetime, until: datetime) -> list[Airing]:
        return [o.to_airing(zone_ids, quiet) for o in engine_overrides.live(begin, until)]

    station.add_override_source(override_airings)
    sweep_uploads(cfg.station.media_dir / "tmp")
    displays = {d.id: build_display(d, mqtt=mqtt, serial=buses) for d in cfg.displays}
    led = cfg.led
    screens = [d for d in cfg.displays if led.displays == "all" or d.id in led.displays]
    rotator = SloganRotator(
        {d.id: displays[d.id] for d in screens}, screens, loaded.slogans, led.dwell_s, clock,
        cfg.station.tz,
    )  # fmt: skip
    return Services(
        loaded, clock, store, mqtt, relays, station, output, users, audit, media, displays, rotator,
        blackouts, overrides, journal, (engine_media, engine_blackouts, engine_overrides),
    )  # fmt: skip


def sweep_uploads(tmp_dir: Path) -> None:
    """Remove upload temp files a crash left behind (the API removes its own otherwise)."""
    for leftover in tmp_dir.glob("upload-*"):
        leftover.unlink(missing_ok=True)


def create_app(loaded: LoadedConfig, clock: Clock | None = None) -> FastAPI:
    from fastapi.exceptions import RequestValidationError

    from controller.api import router
    from controller.api_airings import router as airings_router
    from controller.api_auth import LoginLimiter
    from controller.api_auth import router as auth_router
    from controller.api_console import console_router
    from controller.api_led import router as led_router
    from controller.api_limits import WorkLimits
    from controller.api_media import router as media_router
    from controller.api_records import router as records_router
    from controller.api_types import validation_failed
    from controller.metrics import RequestTimer, StationMetrics
    from controller.metrics import router as metrics_router
    from controller.sessions import SessionStore

    metrics = StationMetrics()  # outlives a restart of the lifespan, like the app

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        services = build_services(loaded, clock, metrics.observe_relay)
        db = loaded.config.station.data_dir / "broadcastctl.sqlite3"
        sessions = SessionStore(db, services.clock)
        await services.start()
        log.info("broadcastctl started (pid %d): %s", os.getpid(), loaded.path)
        try:
            yield {
                "services": services,
                "sessions": sessions,
                "login_limiter": LoginLimiter(services.clock),
                "metrics": metrics,
                "limits": WorkLimits(loaded.config.media),
            }
        finally:
            sessions.close()
            await services.stop()
            log.info("broadcastctl stopped")

    app = FastAPI(title="broadcastctl", version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.include_router(router)
    app.include_router(media_router)
    app.include_router(led_router)
    app.include_router(records_router)
    app.include_router(airings_router)
    app.include_router(auth_router)
    app.include_router(metrics_router)
    app.include_router(console_router())
    upload_limit = upload_limit_bytes(loaded.config.media) + FORM_ALLOWANCE

    def body_limit(scope: Scope) -> int:
        upload = scope["method"] == "POST" and scope["path"] == "/api/media"
        return upload_limit if upload else BODY_LIMIT

    api = loaded.config.api
    pace = BodyPace(api.body_timeout_s, api.body_min_rate, api.body_deadline_s)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit, pace=pace)
    app.add_middleware(RequestTimer, observe=metrics.observe_request)
    return app
