"""The engine's composition root: the station with its relays, amplifiers, audio and screens.

Built once per engine process (or once per in-process app in tests). Nothing here is reachable
from the API process but through `controller.engine.port.Engine`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from controller.alerts.service import AlertService, build_alerts
from controller.alerts.sources import DiskWatch
from controller.config import LoadedConfig
from controller.core.clock import Clock, SystemClock
from controller.media.library import MediaLibrary
from controller.media.lowprio import low_priority_ffmpeg
from controller.overrides.store import OverrideStore
from controller.planning.planner import Airing, Blackout
from controller.playout.decode import ClipDecoder, find_ffmpeg
from controller.playout.player import Player, PlayerEvent
from controller.records.blackouts import BlackoutStore
from controller.records.compliance import compliance
from controller.screens.rotator import SloganRotator
from controller.station.asrun_writer import AsRunJournal
from controller.station.live import RunnerContext
from controller.station.relaybank import PowerChain, RelayBank, RelayObserver
from controller.station.station import Station
from controller.station.waker import Waker
from drivers.audio.base import AudioOutput, PcmFormat
from drivers.audio.file import FileOutput
from drivers.audio.registry import build_output
from drivers.displays.base import Display
from drivers.displays.registry import build_display
from drivers.relays.base import RelayDevice
from drivers.relays.registry import build_relay, needs_mqtt
from drivers.transports.mqtt import MqttConnection
from drivers.transports.serial import SerialBuses


@dataclass
class EngineParts:
    loaded: LoadedConfig
    clock: Clock
    mqtt: MqttConnection | None
    relays: dict[str, RelayDevice]
    station: Station
    output: AudioOutput
    displays: dict[str, Display]
    rotator: SloganRotator
    journal: AsRunJournal  # the engine's writes to the as-run record (off the event loop)
    reads: tuple[MediaLibrary, BlackoutStore, OverrideStore]  # connections of its own
    alerts: AlertService | None = None  # started first, stopped last: the station's faults

    async def start(self) -> None:
        if self.alerts:
            await self.alerts.start()
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
            if self.alerts:
                await self.alerts.stop()
            self.journal.close()
            for closing in self.reads:
                closing.close()


def build_engine(
    loaded: LoadedConfig, clock: Clock | None = None, relay_observer: RelayObserver | None = None
) -> EngineParts:
    cfg = loaded.config
    clock = clock or SystemClock()
    db = cfg.station.data_dir / "broadcastctl.sqlite3"
    journal = AsRunJournal(db, clock=clock)
    mqtt = None
    if any(needs_mqtt(r) for r in cfg.relays) or any(d.type == "mqtt-text" for d in cfg.displays):
        mqtt = MqttConnection(cfg.mqtt, status_topic=f"broadcastctl/{cfg.station.name}/status")
    buses = SerialBuses()  # one per port: boards and screens on one RS-485 line take turns
    relays = {r.id: build_relay(r, mqtt=mqtt, buses=buses) for r in cfg.relays}
    tz = cfg.station.tz
    alerts = build_alerts(
        cfg, db, clock, relays, lambda begin, until: compliance(journal.between(begin, until), tz)
    )
    journal.on_close.append(alerts.outcome_observer())
    bank = RelayBank(relays, clock, alerts.relay_observer(relay_observer))
    chain = PowerChain(bank, cfg.amplifiers, clock)
    fmt = PcmFormat(cfg.audio.sample_rate, cfg.audio.channels)
    output = build_output(cfg.audio.output)
    if isinstance(output, FileOutput):  # the air-check disk: an alert when it is nearly full
        alerts.disk = DiskWatch(alerts.notifier, output.store.report)
    decoder = ClipDecoder(fmt)

    def new_player(on_event: Callable[[PlayerEvent], None]) -> Player:
        return Player(output, fmt, decoder, clock, on_event, silence_s=cfg.monitor.silence_s)

    # The engine (and the player thread, at each clip boundary) reads the library, blackouts
    # and overrides through connections of its own: an API thread holding one of those
    # stores' locks, say a write waiting for another process, never holds up the air.
    ffmpeg = low_priority_ffmpeg(
        find_ffmpeg(), cfg.station.data_dir / "run", cfg.media.ffmpeg_memory_mb
    )
    media = MediaLibrary(
        db, cfg.station.library_home, cfg.media, legacy=cfg.station.media_dir, ffmpeg=ffmpeg
    )
    blackouts, overrides = BlackoutStore(db, clock), OverrideStore(db, clock)
    ctx = RunnerContext(cfg, clock, journal, bank, chain, loaded.playlists, new_player, media)
    ctx.notify = alerts.notifier.notify
    station = Station(ctx, Waker(cfg.station.tz, clock=clock))
    if mqtt:
        mqtt.on_connection_change(station.on_mqtt_connection)
    station.add_blackout_source(blackouts.active)
    zone_ids = [z.id for z in cfg.zones]

    def override_airings(quiet: list[Blackout], begin: datetime, until: datetime) -> list[Airing]:
        return [o.to_airing(zone_ids, quiet) for o in overrides.live(begin, until)]

    station.add_override_source(override_airings)
    displays = {d.id: build_display(d, mqtt=mqtt, serial=buses) for d in cfg.displays}
    led = cfg.led
    screens = [d for d in cfg.displays if led.displays == "all" or d.id in led.displays]
    rotator = SloganRotator(
        {d.id: displays[d.id] for d in screens}, screens, loaded.slogans, led.dwell_s, clock,
        cfg.station.tz,
    )  # fmt: skip
    return EngineParts(
        loaded, clock, mqtt, relays, station, output, displays, rotator, journal,
        (media, blackouts, overrides), alerts,
    )  # fmt: skip
