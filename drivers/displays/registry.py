"""The display driver registry: config `type:` → the function that builds that driver."""

from __future__ import annotations

from collections.abc import Callable

from drivers.displays.base import Display
from drivers.displays.fake import FakeDisplay
from drivers.displays.mqtt_text import MqttTextDisplay
from drivers.displays.onbon import Line, OnbonDisplay
from drivers.settings.devices import (
    DisplayConfig,
    FakeDisplayConfig,
    MqttTextDisplayConfig,
    OnbonDisplayConfig,
)
from drivers.transports.mqtt import MqttConnection
from drivers.transports.serial import SerialBuses
from drivers.transports.tcp import TcpLine

DisplayFactory = Callable[..., Display]


class DisplayConfigError(ValueError):
    """A display that cannot be built from its config (said Chinese first, then English)."""


def _fake(cfg: FakeDisplayConfig, **_: object) -> Display:
    return FakeDisplay(cfg)


def _mqtt_text(cfg: MqttTextDisplayConfig, *, mqtt: MqttConnection | None, **_: object) -> Display:
    if mqtt is None:
        raise DisplayConfigError(
            f"屏幕 {cfg.id} 通过 MQTT 显示，需要配置 mqtt 段 / display {cfg.id} is an MQTT "
            "display and needs the MQTT connection (the `mqtt:` section of config.yaml)"
        )
    return MqttTextDisplay(cfg, mqtt)


def _onbon(cfg: OnbonDisplayConfig, *, serial: SerialBuses | None, **_: object) -> Display:
    line: Line
    if cfg.host is not None and cfg.serial_port is None:
        line = TcpLine(cfg.host, cfg.port, connect_timeout_s=max(cfg.timeout_s, 1.0))
    elif cfg.serial_port is not None and cfg.host is None:
        try:
            line = (serial or SerialBuses()).get(cfg.serial_port, cfg.baudrate)
        except ValueError as exc:
            raise DisplayConfigError(f"屏幕 {cfg.id}：{exc}") from exc
    else:
        raise DisplayConfigError(
            f"屏幕 {cfg.id} 需要 host 或 serial_port 二选一 / display {cfg.id} needs either "
            "`host` (TCP, port 5005) or `serial_port`, not both and not neither"
        )
    try:
        return OnbonDisplay(cfg, line)
    except ValueError as exc:
        raise DisplayConfigError(str(exc)) from exc


# Add a driver: write its config model, then one entry here.
FACTORIES: dict[str, DisplayFactory] = {
    "onbon-bx5k": _onbon,
    "onbon-bx6k": _onbon,
    "mqtt-text": _mqtt_text,
    "fake": _fake,
}


def build_display(
    cfg: DisplayConfig, *, mqtt: MqttConnection | None, serial: SerialBuses | None = None
) -> Display:
    """The driver for one `displays:` entry of config.yaml. Onbon cards on a serial port share
    `serial` (the station's buses) when given, so an RS-485 line is used one request at a time.
    """
    factory = FACTORIES.get(cfg.type)
    if factory is None:
        raise DisplayConfigError(
            f"屏幕 {cfg.id} 的类型 {cfg.type!r} 不受支持 / display {cfg.id}: unknown type "
            f"{cfg.type!r} (known: {', '.join(sorted(FACTORIES))})"
        )
    return factory(cfg, mqtt=mqtt, serial=serial)


def needs_mqtt(cfg: DisplayConfig) -> bool:
    """Whether this display talks over MQTT (so the daemon must build an MqttConnection)."""
    return cfg.type in _MQTT_TYPES


_MQTT_TYPES = frozenset({"mqtt-text"})
