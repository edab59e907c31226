"""Device config: relay boards and LED screens, one model per `type:` (a discriminated union)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from drivers.settings.section import Section
from drivers.settings.types import Duration, TimeOfDay


class FakeRelayConfig(Section):
    """A built-in relay board that needs no hardware; its state shows in /api/status."""

    id: str
    type: Literal["fake"]
    channels: int = Field(8, ge=1, le=64, description="Number of relay channels.")
    confirm_delay_s: Duration = Field(0.0, le=60, description="Simulated confirm delay (≤60 s).")


class TasmotaRelayConfig(Section):
    """A Tasmota device over MQTT (cmnd/stat/tele topics, PulseTime dead-man)."""

    id: str
    type: Literal["tasmota"]
    topic: str = Field(description="The device's %topic%.")
    full_topic: str = Field("%prefix%/%topic%/", description="The device's FullTopic template.")
    channels: int = Field(1, ge=1, le=32, description="Relays on the device.")
    confirm_timeout_s: Duration = Field(
        3.0, ge=0.1, le=60, description="Wait for the device's reply (0.1..60 s)."
    )
    retries: int = Field(2, ge=0, le=10, description="Re-sends before the zone is failed.")
    lwt_online: str = Field("Online", description="LWT payload when the device is up.")
    lwt_offline: str = Field("Offline", description="LWT payload when the device is down.")
    fix_settings: bool = Field(
        True,
        description="Correct settings that defeat the dead-man (PowerOnState, Interlock) at "
        "start; false: refuse to switch ON while they are wrong.",
    )


class ModbusRtuRelayConfig(Section):
    """An RS-485 Modbus RTU relay board (serial port, or RTU frames over TCP)."""

    id: str
    type: Literal["modbus-rtu"]
    port: str = Field(description="Serial device (/dev/ttyUSB0) or URL (socket://host:4196).")
    baudrate: int = Field(
        9600, ge=300, le=921600, description="Line speed; Chinese boards default to 9600 8N1."
    )
    unit: int = Field(1, ge=1, le=247, description="Modbus slave address.")
    channels: int = Field(8, ge=1, le=64, description="Relays on the board.")
    profile: Literal["standard", "waveshare", "r421a08"] = Field(
        "standard", description="Board dialect: standard coils, Waveshare flash-off, R421A08."
    )
    timeout_s: Duration = Field(0.5, ge=0.05, le=10, description="Wait for a reply (0.05..10 s).")
    retries: int = Field(2, ge=0, le=10, description="Re-sends before the zone is failed.")


class LcusRelayConfig(Section):
    """A CH340 LCUS USB relay (A0 ch op sum); write-only, so state is only 'commanded'."""

    id: str
    type: Literal["lcus"]
    port: str = Field(description="Serial device, e.g. /dev/ttyUSB0.")
    baudrate: int = Field(9600, ge=300, le=921600, description="Line speed.")
    channels: int = Field(1, ge=1, le=8, description="Relays on the board.")


class ShellyRelayConfig(Section):
    """A Shelly Gen2+ device over MQTT (JSON-RPC Switch.Set with toggle_after)."""

    id: str
    type: Literal["shelly"]
    topic_prefix: str = Field(description="The device's MQTT topic prefix (its id by default).")
    channels: int = Field(1, ge=1, le=4, description="Switch components (switch:0 is channel 1).")
    confirm_timeout_s: Duration = Field(
        3.0, ge=0.1, le=60, description="Wait for the RPC reply (0.1..60 s)."
    )
    retries: int = Field(2, ge=0, le=10, description="Re-sends before the zone is failed.")
    fix_settings: bool = Field(
        True,
        description="Correct switch settings that defeat the safe state (initial_state, "
        "auto_on) at start; false: refuse to switch ON while they are wrong.",
    )
    timer_tolerance_s: Duration = Field(
        2.0,
        le=60,
        description="How much older than our request a confirmed timer_started_at may be.",
    )


RelayConfig = Annotated[
    FakeRelayConfig
    | TasmotaRelayConfig
    | ModbusRtuRelayConfig
    | LcusRelayConfig
    | ShellyRelayConfig,
    Field(discriminator="type"),
]


class OnHours(Section):
    on: TimeOfDay = Field(description="Screen on from (station time).")
    off: TimeOfDay = Field(description="Screen off from (station time).")


class OnbonDisplayConfig(Section):
    """An Onbon BX-5K/6K controller card (GB2312 text in a dynamic area)."""

    id: str
    type: Literal["onbon-bx5k", "onbon-bx6k"]
    host: str | None = Field(None, description="Card IP for TCP (port 5005).")
    port: int = Field(5005, ge=1, le=65535, description="TCP port of the card.")
    serial_port: str | None = Field(None, description="Serial device instead of TCP.")
    baudrate: int = Field(
        57600, ge=300, le=921600, description="Serial line speed (9600 or 57600)."
    )
    address: int = Field(1, ge=1, le=65535, description="Screen address.")
    width: int = Field(128, ge=8, le=4096, description="Pixels wide.")
    height: int = Field(32, ge=8, le=4096, description="Pixels high.")
    font_size: int = Field(16, description="Font height in pixels (the card has 16, 24, 32).")
    color: Literal["red", "green", "yellow"] = Field("red", description="Text colour.")
    on_hours: OnHours | None = Field(None, description="Daily on/off times; None: always on.")
    timeout_s: Duration = Field(2.0, ge=0.1, le=60, description="Wait for the ACK (0.1..60 s).")


class MqttTextDisplayConfig(Section):
    """A generic display that takes JSON text messages on an MQTT topic."""

    id: str
    type: Literal["mqtt-text"]
    topic: str = Field(description="Topic the text messages go to.")
    charset: Literal["utf-8", "gb2312"] = Field("utf-8", description="Characters it can show.")
    on_hours: OnHours | None = Field(None, description="Daily on/off times; None: always on.")


class FakeDisplayConfig(Section):
    """A built-in screen that needs no hardware; what it shows appears in /api/status."""

    id: str
    type: Literal["fake"]
    width: int = Field(128, ge=8, le=4096, description="Pixels wide.")
    height: int = Field(32, ge=8, le=4096, description="Pixels high.")
    charset: Literal["utf-8", "gb2312"] = Field("gb2312", description="Characters it can show.")
    on_hours: OnHours | None = Field(None, description="Daily on/off times; None: always on.")


DisplayConfig = Annotated[
    OnbonDisplayConfig | MqttTextDisplayConfig | FakeDisplayConfig,
    Field(discriminator="type"),
]
