"""Every MQTT relay driver when things go wrong: silent devices, devices that go offline, broker
outages and hangs. One suite, run against Tasmota and Shelly, each against its device double on
a real Mosquitto; what only one protocol does is tested in its own file."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from peers.mosquitto import Mosquitto, unique_name
from rig_mqtt_relay import MqttRig, nothing_fires_later, until
from rig_shelly import MakeShelly, ShellyRig, make_shelly, shelly_relay
from rig_tasmota import MakeTasmota, TasmotaRig, tasmota_relay

from drivers.relays.base import RelayError, RelayUnreachable
from drivers.relays.errors import NotConfirmed, RelayOffline
from drivers.relays.mqtt_relay import MqttRelay
from drivers.relays.shelly import ShellyRelay
from drivers.relays.tasmota import TasmotaRelay
from drivers.settings.devices import ShellyRelayConfig, TasmotaRelayConfig
from drivers.transports.mqtt import MqttUnavailable

__all__ = ["make_shelly"]  # the fixture, imported so pytest finds it here
MakeRig = Callable[[Mosquitto], MqttRig]


@pytest.fixture(params=["tasmota", "shelly"])
def make_rig(
    request: pytest.FixtureRequest, make_tasmota: MakeTasmota, make_shelly: MakeShelly
) -> MakeRig:
    """`make_rig(broker)`: the parametrized driver's rig, with a started double on `broker`."""
    if request.param == "tasmota":
        return lambda broker: TasmotaRig(broker, make_tasmota(broker), tasmota_relay)
    return lambda broker: ShellyRig(broker, make_shelly(broker), shelly_relay)


@pytest.fixture
def rig(mosquitto: Mosquitto, make_rig: MakeRig) -> MqttRig:
    """The rig on the session's broker."""
    return make_rig(mosquitto)


@pytest.fixture
def private(mosquitto_private: Mosquitto, make_rig: MakeRig) -> MqttRig:
    """The rig on a broker of the test's own, to stop, freeze, kill and start again."""
    return make_rig(mosquitto_private)


def test_silent_device_fails_after_one_plus_retries_attempts(rig: MqttRig) -> None:
    async def scenario() -> None:
        async with rig.relay(unique_name("mute")) as (relay, _conn):
            rig.mute()
            started = time.monotonic()
            with pytest.raises(NotConfirmed) as caught:
                await relay.switch(1, True)
            elapsed = time.monotonic() - started
            assert str(caught.value) == rig.unconfirmed_on(3, deadman=False)
            if rig.kind == "tasmota":  # timing is checked only where it was (noisy under load)
                assert 0.85 < elapsed < 1.5
            assert await until(lambda: rig.switched() == ["ON"] * 3, 1)
            assert rig.read_backs() == 0  # no reply to the switch: nothing to read back
            assert relay.status(1).state == "unknown"
            assert relay.health().last_error == str(caught.value)

    asyncio.run(scenario())


def test_a_button_press_updates_status_without_a_command(rig: MqttRig) -> None:
    async def scenario() -> None:
        async with rig.relay(unique_name("press")) as (relay, _conn):
            rig.press(1)
            assert await until(lambda: relay.status(1).state == "on", 2)
            rig.press(1)
            assert await until(lambda: relay.status(1).state == "off", 2)
            assert rig.switched() == [] and rig.read_backs() == 0

    asyncio.run(scenario())


def test_offline_device_is_unavailable_and_fails_fast(rig: MqttRig) -> None:
    async def scenario() -> None:
        async with rig.relay(unique_name("lwt")) as (relay, _conn):
            await relay.switch(1, True)
            rig.go_offline()
            assert await until(lambda: relay.health().available is False, 3)
            assert relay.status(1).state == "unknown"
            started = time.monotonic()
            with pytest.raises(RelayOffline, match=r"^继电器 east 离线.* / relay east:1 .*offline"):
                await relay.switch(1, False)
            if rig.kind == "shelly":  # timing is checked only where it was (noisy under load)
                assert time.monotonic() - started < 0.2
            assert rig.switched() == ["ON"]  # the OFF was not sent
            rig.come_back()
            assert await until(lambda: relay.health().available is True, 3)
            assert (await relay.switch(1, False)).confirmation == "confirmed"

    asyncio.run(scenario())


def test_broker_down_fails_fast_and_the_command_never_fires_later(private: MqttRig) -> None:
    client_id = unique_name("down")

    async def scenario() -> None:
        async with private.relay(client_id) as (relay, conn):
            private.broker.stop()
            assert await until(lambda: not conn.is_connected, 3)
            assert relay.health().available is None  # cut off: cannot tell
            started = time.monotonic()
            with pytest.raises(
                RelayUnreachable, match=r"^继电器 east 第1路 未开启：MQTT 服务器不可达"
            ):
                await relay.switch(1, True, deadman_s=30)
            assert time.monotonic() - started < 0.2
            await nothing_fires_later(private, conn, client_id)
            assert relay.health().available is True  # online again, from the re-subscription
            # Reconnected and subscribed again by itself: switching works.
            assert (await relay.switch(1, True)).confirmation == "confirmed"

    asyncio.run(scenario())


def test_hung_broker_unconfirmed_on_is_dropped_not_replayed(private: MqttRig) -> None:
    broker, client_id = private.broker, unique_name("hung")

    async def scenario() -> None:
        async with private.relay(client_id, retries=1) as (relay, conn):
            broker.freeze()  # takes the bytes, never acknowledges
            with pytest.raises(RelayError) as caught:
                await relay.switch(1, True, deadman_s=30)
            assert str(caught.value) == private.unconfirmed_on(2, deadman=True)
            broker.kill()
            assert await until(lambda: not conn.is_connected, 3)
            await nothing_fires_later(private, conn, client_id)
            assert conn.health().dropped >= 2

    asyncio.run(scenario())


class NoBroker:
    """Just enough of an MqttConnection cut off from its broker: every publish is refused."""

    is_connected = False

    def subscribe(self, topic: str, handler: Callable[[str, bytes], None]) -> Callable[[], None]:
        return lambda: None

    def on_connection_change(self, listener: Callable[[bool], None]) -> Callable[[], None]:
        return lambda: None

    def publish(self, topic: str, payload: str, qos: int = 1, retain: bool = False) -> None:
        raise MqttUnavailable(
            f"MQTT 服务器不可达，命令未发送 / MQTT broker unreachable, command not sent ({topic})"
        )


def _tasmota(mqtt: Any) -> TasmotaRelay:
    return TasmotaRelay(TasmotaRelayConfig(id="east", type="tasmota", topic="t"), mqtt)


def _shelly(mqtt: Any) -> ShellyRelay:
    return ShellyRelay(ShellyRelayConfig(id="east", type="shelly", topic_prefix="p"), mqtt)


@pytest.mark.parametrize("build", [_tasmota, _shelly], ids=["tasmota", "shelly"])
def test_settings_unread_for_the_broker_are_said_once_in_each_language(
    build: Callable[[Any], MqttRelay[Any, Any, Any]],
) -> None:
    """The transport's refusal is bilingual already: the driver's words must not nest it."""

    async def scenario() -> None:
        relay = build(NoBroker())
        with pytest.raises(RelayUnreachable) as caught:
            await relay.switch(1, True, deadman_s=30)
        assert str(caught.value) == (
            "继电器 east 第1路 未开启：MQTT 服务器不可达，设备设置未读到 / "
            "relay east:1 not switched ON: device settings not read: MQTT broker unreachable"
        )
        assert relay.health().last_error == (
            "MQTT 服务器不可达，设备设置未读到 / device settings not read: MQTT broker unreachable"
        )
        await relay.stop()

    asyncio.run(scenario())
