"""The config schema: one small pydantic model per section of config.yaml (DESIGN.md §4)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from controller.config.alerts import AlertsConfig
from controller.config.monitor import MonitorConfig
from controller.config.power import PowerCheckConfig
from drivers.settings.devices import DisplayConfig, RelayConfig
from drivers.settings.links import AudioOutputConfig, MqttConfig
from drivers.settings.section import Section
from drivers.settings.types import Duration, FsPath, TimeOfDay, short_repr

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_S = 86_400
# The years the planner plans in (planner.FIRST_YEAR..LAST_YEAR, which imports this module);
# far dates only overflow its calendar arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2199
# Rates the player, ffmpeg and sound cards all take.
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 192000)


class StationConfig(Section):
    name: str = Field(description="Station name shown in the console and the status API.")
    timezone: str = Field("Asia/Shanghai", description="IANA zone the slots are written in.")
    data_dir: FsPath = Field(Path("var"), description="SQLite database and runtime state.")
    media_dir: FsPath = Field(
        Path("audio"), description="Station-provided audio that playlists name (the sample)."
    )
    library_dir: FsPath | None = Field(
        None, description="Uploaded clips (library/<id>/) and uploads in flight; <data_dir>/media."
    )
    playlists_dir: FsPath = Field(Path("playlists"), description="Folder of playlist YAML files.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a 300-char name
            shown = short_repr(value)
            raise ValueError(f"{shown} is not a known time zone (e.g. Asia/Shanghai)") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def library_home(self) -> Path:
        """Where uploads live: with the database, outside the checkout, unless set apart."""
        return self.data_dir / "media" if self.library_dir is None else self.library_dir

    @property
    def clip_roots(self) -> tuple[Path, Path]:
        """The folders the record names clips under: the library's home (`library/<id>/…`),
        then the station's own audio (`sample/…`)."""
        return (self.library_home, self.media_dir)


class ApiConfig(Section):
    listen: str = Field("127.0.0.1:8080", description="host:port the HTTP API listens on.")
    max_connections: int = Field(
        256, ge=8, le=4096, description="Open HTTP connections at most; more are refused."
    )
    header_timeout_s: float = Field(
        10.0, gt=0, le=300, description="A connection without complete headers by then closes."
    )
    body_timeout_s: float = Field(
        20.0, gt=0, le=600, description="Wait for a request body's bytes, plus 1 s per min_rate."
    )
    body_min_rate: int = Field(
        500, ge=1, le=10_000_000, description="Bytes/s a body must keep up after the timeout."
    )
    body_deadline_s: float = Field(
        900.0, gt=0, le=86_400, description="Longest a request body may take in total."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Proxies (addresses/CIDRs) whose X-Forwarded-For counts."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an address or CIDR (e.g. 10.0.0.1)") from exc
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:8080)")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class AudioConfig(Section):
    output: AudioOutputConfig = Field(default_factory=lambda: AudioOutputConfig())
    fade_out_s: Duration = Field(
        3.0, ge=0, le=60, description="Fade that ends exactly on the slot's end (0..60 s)."
    )
    gap_s: Duration = Field(
        2.0, ge=0, le=600, description="Silence between clips, 0..600 s (a playlist may override)."
    )
    sample_rate: int = Field(48000, description=f"Player sample rate in Hz, one of {SAMPLE_RATES}.")
    channels: Literal[1, 2] = Field(2, description="Player channels.")

    @field_validator("sample_rate")
    @classmethod
    def _known_rate(cls, value: int) -> int:
        if value not in SAMPLE_RATES:
            rates = ", ".join(map(str, SAMPLE_RATES))
            raise ValueError(
                f"{value} Hz 不是可用的采样率 / {value} Hz is not a sample rate ({rates})"
            )
        return value


class ZoneConfig(Section):
    id: str = Field(description="Zone id used by slots and blackouts.")
    name: str = Field(description="Name operators see, e.g. 东村.")
    relays: list[str] = Field(min_length=1, description='Relay channels, as "device:channel".')
    power: PowerCheckConfig | None = Field(
        None, description="Confirm airings by the amplifier's power draw, where a meter can tell."
    )


class AmplifierConfig(Section):
    relay: str = Field(description='Relay channel powering this stage, as "device:channel".')
    settle_s: Duration = Field(
        0.0, ge=0, le=120, description="Wait after switching on before the next step (0..120 s)."
    )
    zones: Literal["all"] | list[str] = Field(
        "all", description='Zones this stage feeds: "all" or zone ids. A stage that fails to '
        "switch on fails the airing on these zones.",
    )  # fmt: skip
    spare_for: str | None = Field(
        None, description="The stage (its relay) this one stands in for: a hot spare, switched "
        "on with the chain; while it confirms, that stage failing fails no zone.",
    )  # fmt: skip


class SlotConfig(Section):
    # The name is part of the airing id (controller/core/airing_id.py): `#r<n>` at its end
    # would read as a resumed segment, a NUL cannot be stored or shown.
    name: str = Field(
        min_length=1,
        max_length=100,
        description="Slot name, e.g. 早间 (1..100 characters; not ending in #r and digits).",
    )
    start: TimeOfDay = Field(description="Start time of day, HH:MM[:SS], station time.")
    duration: Duration = Field(
        gt=0, lt=DAY_S, description="On-air length, e.g. 30m: more than 0, less than a day."
    )
    playlist: str = Field(description="Playlist file name (without .yaml).")
    zones: Literal["all"] | list[str] = Field("all", description='"all" or a list of zone ids.')
    days: Literal["daily"] | list[Weekday] = Field("daily", description="Weekday mask.")

    @field_validator("name")
    @classmethod
    def _fits_an_airing_id(cls, value: str) -> str:
        if "\x00" in value or re.search(r"#r[0-9]+$", value):
            shown = short_repr(value)
            raise ValueError(
                f"时段名称 {shown} 不能含 NUL，也不能以 #r 加数字结尾 /"
                " a slot name holds no NUL and does not end in #r and digits"
            )
        return value


class ScheduleConfig(Section):
    preroll_s: Duration = Field(
        5.0, ge=0, le=120, description="Zones on and confirmed this long before audio (0..120 s)."
    )
    postroll_s: Duration = Field(
        2.0, ge=0, le=600, description="Amplifiers stay on this long after audio (0..600 s)."
    )
    min_join_s: Duration = Field(
        60.0, ge=0, le=DAY_S, description="Join a running slot only with this left (0..24 h)."
    )
    # At least 1 s: a zero margin turns into a zero dead-man at the end, which Tasmota reads
    # as "no timer" (PulseTime 0). At most 10 min: how long a loudspeaker may outlive a crash.
    deadman_margin_s: Duration = Field(
        60.0,
        ge=1,
        le=600,
        description="Relay dead-man timers run this much past the planned switch-off (1..600 s).",
    )
    # Not 0: the re-arm loop would spin. Cross-checked against the margin and the boards.
    rearm_s: Duration = Field(
        60.0, ge=0.1, le=3600, description="How often dead-man timers are re-armed (0.1..3600 s)."
    )
    slots: list[SlotConfig] = Field(default_factory=list)


class BlackoutConfig(Section):
    name: str = Field(description="e.g. 2027年高考.")
    start: datetime = Field(description="Start, station time unless an offset is given.")
    end: datetime = Field(description="End (exclusive).")
    zones: Literal["all"] | list[str] = Field("all", description='"all" or zone ids.')
    reason: str = Field("", description="Why the station is silent.")
    threshold: int = Field(
        100, ge=0, le=101,
        description="Airings with a lower priority are silenced (schedule 50, manual 70, police "
        "80, emergency 100): 100 lets only emergencies through, 101 silences everything.",
    )  # fmt: skip

    @field_validator("start", "end")
    @classmethod
    def _planned_years(cls, value: datetime) -> datetime:
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(
                f"{value:%Y-%m-%d} 不在 {FIRST_YEAR}–{LAST_YEAR} 年之间"
                f" / {value:%Y-%m-%d} is not within {FIRST_YEAR}–{LAST_YEAR}"
            )
        return value


class LedConfig(Section):
    slogans: str = Field("slogans", description="Slogan file in playlists_dir (without .yaml).")
    dwell_s: Duration = Field(
        10.0, ge=1, le=3600, description="How long each slogan stays on a screen (1..3600 s)."
    )
    displays: Literal["all"] | list[str] = Field("all", description='"all" or display ids.')


class MediaConfig(Section):
    target_lufs: float = Field(-16.0, ge=-40, le=-5, description="House loudness (LUFS).")
    true_peak_db: float = Field(-1.5, ge=-10, le=0, description="True-peak ceiling (dBTP).")
    # Not 0: a clip of no frames would loop in a playlist without ever using up the slot.
    min_s: Duration = Field(1.0, ge=0.1, le=600, description="Shortest clip accepted (0.1..600 s).")
    max_s: Duration = Field(
        3600.0, ge=1, le=6 * 3600, description="Longest clip accepted (1 s..6 h); above min_s."
    )
    max_upload_mb: float = Field(
        200.0, ge=0.01, le=4096, description="Largest upload accepted (0.01..4096 MB)."
    )
    require_approval: bool = Field(True, description="Police uploads wait for an operator.")
    max_concurrent_ingests: int = Field(2, ge=1, le=16, description="Uploads decoded at once.")
    max_queued_uploads: int = Field(
        4, ge=0, le=64, description="Uploads that may wait for an ingest; more get 503."
    )
    ffmpeg_memory_mb: int = Field(
        1024, ge=64, le=65536, description="Address-space cap of each ingest ffmpeg (MiB)."
    )
    fallback_playlist: str | None = Field(
        None, description="Played when a slot's playlist resolves to nothing."
    )


class Config(Section):
    station: StationConfig
    mqtt: MqttConfig = Field(default_factory=lambda: MqttConfig())
    api: ApiConfig = Field(default_factory=lambda: ApiConfig())
    audio: AudioConfig = Field(default_factory=lambda: AudioConfig())
    relays: list[RelayConfig] = Field(default_factory=list)
    zones: list[ZoneConfig] = Field(default_factory=list)
    amplifiers: list[AmplifierConfig] = Field(default_factory=list)
    schedule: ScheduleConfig = Field(default_factory=lambda: ScheduleConfig())
    blackouts: list[BlackoutConfig] = Field(default_factory=list)
    displays: list[DisplayConfig] = Field(default_factory=list)
    led: LedConfig = Field(default_factory=lambda: LedConfig())
    media: MediaConfig = Field(default_factory=lambda: MediaConfig())
    monitor: MonitorConfig = Field(default_factory=lambda: MonitorConfig())
    alerts: AlertsConfig = Field(default_factory=lambda: AlertsConfig())
