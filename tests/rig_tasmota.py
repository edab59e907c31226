"""A started Tasmota driver against its double on Mosquitto, for the Tasmota tests, and the
Tasmota rig of the shared MQTT relay fault suite."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from doubles.tasmota import TasmotaDouble
from peers.mosquitto import Mosquitto
from rig_mqtt_relay import DoubleRig, started, until

from drivers.relays.tasmota import TasmotaRelay
from drivers.settings.devices import TasmotaRelayConfig
from drivers.transports.mqtt import MqttConnection

__all__ = ["MakeTasmota", "TasmotaRig", "switched", "tasmota_relay", "until"]
MakeTasmota = Callable[..., TasmotaDouble]


def switched(published: list[tuple[str, bool]]) -> list[str]:
    """The relay commands among what a client published (the settings queries do not switch)."""
    return [t for t, _r in published if t.rsplit("/", 1)[-1].upper() in ("POWER1", "PULSETIME1")]


def tasmota_relay(
    broker: Mosquitto, double: TasmotaDouble, client_id: str, *, check: bool = True, **cfg: Any
) -> AbstractAsyncContextManager[tuple[TasmotaRelay, MqttConnection]]:
    """A started driver; `check`: wait until it has read the device's settings."""
    options: dict[str, Any] = {"confirm_timeout_s": 0.3, "retries": 2, **cfg}
    config = TasmotaRelayConfig(id="east", type="tasmota", topic=double.topic, **options)
    read = (lambda relay: relay.settings() is not None) if check else None
    return started(broker, client_id, lambda conn: TasmotaRelay(config, conn), read)


class TasmotaRig(DoubleRig[TasmotaDouble, TasmotaRelay]):
    """The Tasmota driver and its double, for tests/test_mqtt_relay_faults.py: made with
    `TasmotaRig(broker, double, tasmota_relay)`."""

    kind = "tasmota"

    def press(self, channel: int) -> None:
        self.double.press(channel)

    def switched(self) -> list[str]:
        return [c.payload.upper() for c in self.double.received("POWER1")]

    def read_backs(self) -> int:
        return 0  # the reply to POWER<n> is the read-back: the driver never asks for more

    def logged_switches(self, published: list[tuple[str, bool]]) -> list[str]:
        return switched(published)

    def unconfirmed_on(self, attempts: int, *, deadman: bool) -> str:
        if deadman:  # PulseTime goes first; unanswered, POWER never goes out
            return (
                "继电器 east 第1路 定时关闭未确认，未开启 / relay east:1 dead-man (PulseTime) not "
                f"confirmed after {attempts} attempts (PulseTime1 unanswered), not switched ON"
            )
        return (
            "继电器 east 第1路 未确认开启 / "
            f"relay east:1 did not confirm ON after {attempts} attempts"
        )
