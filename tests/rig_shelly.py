"""A started Shelly driver against its double on Mosquitto, for the Shelly tests, and the
Shelly rig of the shared MQTT relay fault suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from doubles.shelly import ShellyDouble
from peers.mosquitto import Mosquitto, unique_name
from rig_mqtt_relay import DoubleRig, made_doubles, started, until

from drivers.relays.shelly import ShellyRelay
from drivers.settings.devices import ShellyRelayConfig
from drivers.transports.mqtt import MqttConnection

__all__ = ["MakeShelly", "ShellyRig", "make_shelly", "shelly_relay", "until"]
MakeShelly = Callable[..., ShellyDouble]


def _double(broker: Mosquitto, *, channels: int = 1) -> ShellyDouble:
    return ShellyDouble(broker.host, broker.port, unique_name("shelly"), channels=channels)


@pytest.fixture
def make_shelly() -> Iterator[MakeShelly]:
    """`make_shelly(broker, channels=2)` → a started double on a fresh prefix; stopped after."""
    yield from made_doubles(_double)


def shelly_relay(
    broker: Mosquitto, double: ShellyDouble, client_id: str, *, check: bool = True, **cfg: Any
) -> AbstractAsyncContextManager[tuple[ShellyRelay, MqttConnection]]:
    """A started driver; `check`: wait until it has read the device's clock and config."""
    options: dict[str, Any] = {"confirm_timeout_s": 0.3, "retries": 2, **cfg}
    config = ShellyRelayConfig(
        id="east", type="shelly", topic_prefix=double.topic_prefix, **options
    )
    read = (lambda relay: relay.settings_read) if check else None
    return started(
        broker, client_id, lambda c: ShellyRelay(config, c, src=f"{client_id}-src"), read
    )


class ShellyRig(DoubleRig[ShellyDouble, ShellyRelay]):
    """The Shelly driver and its double, for tests/test_mqtt_relay_faults.py: made with
    `ShellyRig(broker, double, shelly_relay)`."""

    kind = "shelly"

    def press(self, channel: int) -> None:
        self.double.press(channel - 1)  # switch:0 is relay 1

    def switched(self) -> list[str]:
        sets = [r.frame or {} for r in self.double.received("Switch.Set")]
        return ["ON" if frame.get("params", {}).get("on") else "OFF" for frame in sets]

    def read_backs(self) -> int:
        return len(self.double.received("Switch.GetStatus"))

    def logged_switches(self, published: list[tuple[str, bool]]) -> list[str]:
        # Every request goes to <prefix>/rpc: the log cannot tell a Set from the settings
        # reads, so the double's own record (switched()) is the evidence here.
        return []

    def unconfirmed_on(self, attempts: int, *, deadman: bool) -> str:
        return (
            "继电器 east 第1路 未确认开启 / "
            f"relay east:1 did not confirm ON after {attempts} attempts (no reply)"
        )
