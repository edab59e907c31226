"""The relay driver registry: config `type:` → the function that builds that driver."""

from __future__ import annotations

from collections.abc import Callable

from drivers.relays.base import RelayConfigError, RelayDevice
from drivers.relays.errors import UnknownRelayType
from drivers.relays.fake import FakeRelay
from drivers.relays.lcus import build_lcus
from drivers.relays.modbus import build_modbus
from drivers.relays.shelly import build_shelly
from drivers.relays.tasmota import build_tasmota
from drivers.settings.devices import (
    FakeRelayConfig,
    LcusRelayConfig,
    ModbusRtuRelayConfig,
    RelayConfig,
    ShellyRelayConfig,
    TasmotaRelayConfig,
)
from drivers.transports.mqtt import MqttConnection
from drivers.transports.serial import SerialBuses

RelayFactory = Callable[..., RelayDevice]
__all__ = ["FACTORIES", "RelayConfigError", "build_relay", "needs_mqtt"]  # the error lived here


def _fake(cfg: FakeRelayConfig, **_: object) -> RelayDevice:
    return FakeRelay(cfg)


def _tasmota(cfg: TasmotaRelayConfig, *, mqtt: MqttConnection | None, **_: object) -> RelayDevice:
    return build_tasmota(cfg, mqtt)


def _shelly(cfg: ShellyRelayConfig, *, mqtt: MqttConnection | None, **_: object) -> RelayDevice:
    return build_shelly(cfg, mqtt)


def _modbus(cfg: ModbusRtuRelayConfig, *, buses: SerialBuses | None, **_: object) -> RelayDevice:
    return build_modbus(cfg, buses=buses)


def _lcus(cfg: LcusRelayConfig, *, buses: SerialBuses | None, **_: object) -> RelayDevice:
    return build_lcus(cfg, buses=buses)


# Add a driver: write its config model, then one entry here.
FACTORIES: dict[str, RelayFactory] = {
    "fake": _fake,
    "tasmota": _tasmota,
    "shelly": _shelly,
    "modbus-rtu": _modbus,
    "lcus": _lcus,
}


def build_relay(
    cfg: RelayConfig, *, mqtt: MqttConnection | None, buses: SerialBuses | None = None
) -> RelayDevice:
    """The driver for one `relays:` entry of config.yaml. Serial boards on one port must share
    `buses` (the station's serial lines), which also keeps that line to one request at a time."""
    factory = FACTORIES.get(cfg.type)
    if factory is None:
        raise UnknownRelayType(cfg.id, cfg.type, sorted(FACTORIES))
    return factory(cfg, mqtt=mqtt, buses=buses)


def needs_mqtt(cfg: RelayConfig) -> bool:
    """Whether this relay talks over MQTT (so the daemon must build an MqttConnection)."""
    return cfg.type in _MQTT_TYPES


_MQTT_TYPES = frozenset({"tasmota", "shelly"})
