"""How drivers reach the world: the MQTT broker and the audio output."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from drivers.settings.section import Section
from drivers.settings.types import FsPath


class MqttConfig(Section):
    host: str = Field("127.0.0.1", description="Broker host.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port.")
    username: str | None = Field(None, description="Broker user, if the broker asks for one.")
    password: str | None = Field(None, description="Broker password.")
    client_id: str | None = Field(None, description="MQTT client id; default broadcastctl-<pid>.")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive in seconds.")
    reconnect_max_s: float = Field(
        30.0, ge=1, le=600, description="Longest wait between reconnects (1 s..10 min)."
    )


class AudioOutputConfig(Section):
    type: Literal["file", "alsa", "null"] = Field("file", description="Where audio goes.")
    dir: FsPath = Field(Path("var/aircheck"), description="Air-check folder (type file).")
    keep_days: int = Field(31, ge=1, le=3660, description="Days air-check recordings are kept.")
    max_gb: float = Field(
        10.0,
        gt=0,
        le=100_000,
        description="Disk budget of the air-check folder in GB (10^9 bytes): past it the oldest "
        "recordings go first, even if younger than keep_days (type file). A 30-minute slot of "
        "speech is about 50 MB as FLAC, so 10 GB holds 31 days of three slots with room to spare.",
    )
    min_free_gb: float = Field(
        2.0,
        ge=0,
        le=100_000,
        description="Free space (GB) on the air-check folder's disk below which the status warns "
        "(type file).",
    )
    device: str = Field("default", description="Sound card device name (type alsa).")
