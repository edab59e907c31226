"""The shared MQTT connection against a real Mosquitto: no late delivery, loop-thread callbacks."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from peers.mosquitto import Mosquitto, Subscriber, mqtt_config, running_mqtt

from drivers.transports.mqtt import MqttConnection, MqttUnavailable


async def wait_until(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return False


def test_publish_while_broker_down_raises_and_is_never_delivered() -> None:
    broker = Mosquitto(verbose=True)  # not started yet: the daemon must start anyway

    async def scenario() -> None:
        async with running_mqtt(broker, "conn-down", wait=False) as conn:
            assert not conn.is_connected
            with pytest.raises(
                MqttUnavailable, match=r"^MQTT 服务器不可达.* / MQTT broker unreachable"
            ):
                conn.publish("late/relay", "ON")
            assert await wait_until(lambda: conn.health().last_error == "broker unreachable", 3)
            broker.start()
            assert await conn.wait_connected(5)
            await asyncio.sleep(1.0)
            topics = [topic for topic, _retain in broker.received_publishes("conn-down")]
            assert topics == [conn.status_topic]  # "online", and nothing else

    try:
        asyncio.run(scenario())
    finally:
        broker.close()


@pytest.mark.parametrize("client", ["paho-alone", "MqttConnection"])
def test_unacknowledged_message_is_not_replayed_after_reconnect(
    client: str, mosquitto_private: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """A hung broker takes a QoS1 command but never acknowledges it; the broker dies and comes back.

    Plain paho replays the command on reconnect (the control, proving the scenario is real);
    MqttConnection drops it. The broker's own log is the witness: no subscriber race.
    """
    broker = mosquitto_private
    client_id = f"stale-{client}"

    async def scenario() -> list[tuple[str, bool]]:
        conn = MqttConnection(mqtt_config(broker, client_id), status_topic="broadcastctl/t/status")
        raw = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        raw.reconnect_delay_set(1, 1)

        def conn_up() -> bool:
            return conn.is_connected

        connected: Callable[[], bool] = raw.is_connected
        if client == "MqttConnection":
            connected = conn_up
            await conn.start()
        else:
            raw.connect_async(broker.host, broker.port, keepalive=5)
            raw.loop_start()
        try:
            assert await wait_until(connected, 5)
            broker.freeze()
            if client == "MqttConnection":
                conn.publish("zone/east/POWER1", "ON")
            else:
                raw.publish("zone/east/POWER1", "ON", qos=1)
            await asyncio.sleep(0.3)
            broker.kill()
            assert await wait_until(lambda: not connected(), 5)
            broker.start()
            mark = broker.mark()
            assert await wait_until(connected, 5)
            await asyncio.sleep(0.5)
            return broker.received_publishes(client_id, since=mark)
        finally:
            await conn.stop()
            raw.disconnect()
            raw.loop_stop()

    with caplog.at_level(logging.WARNING, logger="drivers.transports.mqtt"):
        replayed = [t for t, _retain in asyncio.run(scenario()) if t.startswith("zone/")]
    if client == "paho-alone":
        assert replayed == ["zone/east/POWER1"]
    else:
        assert replayed == []
        assert "dropped undelivered message to zone/east/POWER1" in caplog.text


def test_handlers_and_listeners_run_on_the_event_loop_thread(mosquitto: Mosquitto) -> None:
    async def scenario() -> None:
        loop_thread = threading.get_ident()
        seen: list[tuple[str, bytes, int]] = []
        changes: list[tuple[bool, int]] = []
        conn = MqttConnection(mqtt_config(mosquitto, "conn-threads"), status_topic="bc/threads/s")
        conn.on_connection_change(lambda up: changes.append((up, threading.get_ident())))
        conn.subscribe("threads/+/x", lambda t, p: seen.append((t, p, threading.get_ident())))
        await conn.start()
        try:
            assert await conn.wait_connected(5)
            await asyncio.sleep(0.2)  # the SUBACK
            conn.publish("threads/a/x", b"\x01")
            conn.publish("threads/a/y", b"not for us")
            assert await wait_until(lambda: len(seen) == 1, 3)
            await asyncio.sleep(0.2)
        finally:
            await conn.stop()
        assert seen == [("threads/a/x", b"\x01", loop_thread)]
        assert changes == [(True, loop_thread), (False, loop_thread)]

    asyncio.run(scenario())


def test_status_topic_online_retained_then_offline_on_clean_stop(mosquitto: Mosquitto) -> None:
    async def scenario() -> None:
        async with running_mqtt(mosquitto, "conn-status") as conn:
            await asyncio.sleep(0.2)
            late = Subscriber(mosquitto, conn.status_topic)  # joins after: sees the retained copy
            try:
                assert await wait_until(lambda: late.messages, 3)
                assert late.messages[0][1:] == (b"online", True)
            finally:
                late.close()
            listener = Subscriber(mosquitto, conn.status_topic)
        try:
            assert await wait_until(lambda: len(listener.messages) >= 2, 3)
            assert [m[1] for m in listener.messages] == [b"online", b"offline"]
        finally:
            listener.close()

    asyncio.run(scenario())


def test_reconnects_by_itself_and_subscribes_again(mosquitto_private: Mosquitto) -> None:
    async def scenario() -> None:
        got: list[bytes] = []
        async with running_mqtt(mosquitto_private, "conn-resub") as conn:
            conn.subscribe("resub/t", lambda _t, p: got.append(p))
            mosquitto_private.stop()
            assert await wait_until(lambda: not conn.is_connected, 3)
            mosquitto_private.start()
            assert await conn.wait_connected(5)
            await asyncio.sleep(0.3)
            outside = Subscriber(mosquitto_private, "resub/none")
            try:
                outside.client.publish("resub/t", "again", qos=1).wait_for_publish(2)
                assert await wait_until(lambda: got == [b"again"], 3)
            finally:
                outside.close()
            health = conn.health()
            assert health.connects == 2 and health.connected

    asyncio.run(scenario())
