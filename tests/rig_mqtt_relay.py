"""What the MQTT relay tests share: waiting, a started driver, and the rig each driver's tests
describe its device with (rig_tasmota.py, rig_shelly.py) for the shared fault suite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, Protocol, TypeVar

from peers.mosquitto import Mosquitto, running_mqtt

from drivers.relays.base import RelayDevice
from drivers.transports.mqtt import MqttConnection


class Double(Protocol):
    """A device double: a thread of its own on the broker, started and stopped by the test."""

    mute: bool  # receives and records, but neither switches nor answers

    def start(self, timeout: float = 5.0) -> None: ...

    def stop(self) -> None: ...

    def go_offline(self) -> None:
        """Drop off the broker uncleanly: the broker publishes the device's Last Will."""

    def wait_online(self, timeout: float) -> bool: ...


R = TypeVar("R", bound=RelayDevice)
D = TypeVar("D", bound=Double)
Started = AbstractAsyncContextManager[tuple[R, MqttConnection]]


async def until(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def made_doubles(build: Callable[..., D]) -> Iterator[Callable[..., D]]:
    """For a fixture: `build(...)` and start each double the test asks for; stop them after."""
    doubles: list[D] = []

    def make(*args: Any, **kwargs: Any) -> D:
        double = build(*args, **kwargs)
        doubles.append(double)
        double.start()
        return double

    yield make
    for double in doubles:
        double.stop()


@asynccontextmanager
async def started(
    broker: Mosquitto,
    client_id: str,
    build: Callable[[MqttConnection], R],
    read: Callable[[R], bool] | None,
) -> AsyncIterator[tuple[R, MqttConnection]]:
    """The driver `build` makes on a fresh connection, started and online; `read`: also wait
    until it has read the device's settings."""
    async with running_mqtt(broker, client_id) as conn:
        relay = build(conn)
        await relay.start()
        try:
            assert await until(lambda: relay.health().available is True, 3), "device not online"
            if read is not None:
                assert await until(lambda: read(relay), 3), "settings not read"
            yield relay, conn
        finally:
            await relay.stop()


class MqttRig(Protocol):
    """One MQTT relay driver and its device double, as the shared fault suite drives them.
    The relay is "east"; the device has one channel unless the test says otherwise."""

    kind: str
    broker: Mosquitto

    def relay(
        self, client_id: str, **cfg: Any
    ) -> AbstractAsyncContextManager[tuple[RelayDevice, MqttConnection]]:
        """A started driver with `cfg` overrides, once it has read the device's settings."""

    def mute(self) -> None:
        """The device records what it gets but neither switches nor answers."""

    def go_offline(self) -> None: ...

    def come_back(self) -> None: ...

    def wait_online(self, timeout: float) -> bool: ...

    def press(self, channel: int) -> None:
        """A button on the device toggles the relay, and the device reports it."""

    def switched(self) -> list[str]:
        """The switch commands for relay 1 the device received, "ON"/"OFF", in order."""

    def read_backs(self) -> int:
        """How many times the driver asked the device for relay 1's state."""

    def logged_switches(self, published: list[tuple[str, bool]]) -> list[str]:
        """The topics among `published` (the broker's log of our client) that switch relays."""

    def unconfirmed_on(self, attempts: int, *, deadman: bool) -> str:
        """What switch(1, True) says when the device never answers `attempts` tries."""


class DoubleRig(Generic[D, R]):
    """The part of an MqttRig that is the same for every driver: `start(broker, double,
    client_id, **cfg)` is the driver's started-relay context (tasmota_relay, shelly_relay)."""

    def __init__(self, broker: Mosquitto, double: D, start: Callable[..., Started[R]]) -> None:
        self.broker, self.double, self._start = broker, double, start

    def relay(self, client_id: str, **cfg: Any) -> Started[R]:
        return self._start(self.broker, self.double, client_id, **cfg)

    def mute(self) -> None:
        self.double.mute = True

    def go_offline(self) -> None:
        self.double.go_offline()

    def come_back(self) -> None:
        self.double.start()

    def wait_online(self, timeout: float) -> bool:
        return self.double.wait_online(timeout)


async def nothing_fires_later(rig: MqttRig, conn: MqttConnection, client_id: str) -> None:
    """Start the broker again: once the driver and the device are back, a command that could
    not go out while it was away has still not gone out."""
    await asyncio.to_thread(rig.broker.start)
    mark = rig.broker.mark()
    assert await conn.wait_connected(5)
    assert await asyncio.to_thread(rig.wait_online, 5)
    await asyncio.sleep(1.5)
    assert rig.switched() == []
    assert not rig.logged_switches(rig.broker.received_publishes(client_id, mark))
