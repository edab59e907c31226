"""The shared MQTT connection against a real Mosquitto: no late delivery, loop-thread callbacks."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from peers.mosquitto import Mosquitto, Subscriber, mqtt_config, running_mqtt
from waiting import until

from drivers.transports.mqtt import MqttConnection, MqttUnavailable


def said(broker: Mosquitto, client_id: str, topic: str, since: int = 0) -> bool:
    """The broker's log has a PUBLISH to `topic` from `client_id` (after `since`)."""
    return any(t == topic for t, _retain in broker.received_publishes(client_id, since))


def unread_by(broker: Mosquitto) -> int:
    """Bytes that reached the broker's connections and that it has not read: a frozen broker
    leaves what it is sent in the kernel's receive queue (/proc/net/tcp, established only)."""
    unread = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        _slot, local, _remote, state, queues, *_ = line.split()
        if state == "01" and int(local.rsplit(":", 1)[1], 16) == broker.port:
            unread += int(queues.split(":")[1], 16)
    return unread


def test_publish_while_broker_down_raises_and_is_never_delivered() -> None:
    broker = Mosquitto(verbose=True)  # not started yet: the daemon must start anyway

    async def scenario() -> None:
        async with running_mqtt(broker, "conn-down", wait=False) as conn:
            assert not conn.is_connected
            with pytest.raises(
                MqttUnavailable, match=r"^MQTT 服务器不可达.* / MQTT broker unreachable"
            ):
                conn.publish("late/relay", "ON")
            assert await until(lambda: conn.health().last_error == "broker unreachable", 3)
            broker.start()
            assert await conn.wait_connected(5)
            # Its "online" is the first thing it says once connected; anything replayed (paho
            # resends after the connect callback) would come right behind it.
            assert await until(lambda: said(broker, "conn-down", conn.status_topic), 5)
            await asyncio.sleep(1.0)  # an absence: the refused command never follows it
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
            assert await until(connected, 5)
            if client == "MqttConnection":  # its "online" is in: nothing of ours in flight
                assert await until(lambda: said(broker, client_id, conn.status_topic), 5)
            assert await until(lambda: unread_by(broker) == 0, 5)
            broker.freeze()
            if client == "MqttConnection":
                conn.publish("zone/east/POWER1", "ON")
            else:
                raw.publish("zone/east/POWER1", "ON", qos=1)
            # The hung broker has taken the command: it sits unread in the broker's socket.
            assert await until(lambda: unread_by(broker) > 0, 5)
            broker.kill()
            assert await until(lambda: not connected(), 5)
            broker.start()
            mark = broker.mark()
            assert await until(connected, 5)
            # What comes first on the new connection: paho's replay, or our "online" (said in
            # the connect callback, before paho would resend anything).
            first = "zone/east/POWER1" if client == "paho-alone" else conn.status_topic
            assert await until(lambda: said(broker, client_id, first, mark), 5)
            await asyncio.sleep(0.5)  # an absence: nothing more is replayed behind it
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
        ends: list[bytes] = []
        conn.subscribe("threads/end", lambda _t, p: ends.append(p))
        mark = mosquitto.mark()
        await conn.start()
        try:
            assert await conn.wait_connected(5)
            # The SUBACK: on connecting, the SUBSCRIBE goes out before the "online", and the
            # broker handles a client's packets in order: once it has the "online", the
            # filters are in place.
            assert await until(lambda: said(mosquitto, "conn-threads", conn.status_topic, mark), 3)
            conn.publish("threads/a/x", b"\x01")
            conn.publish("threads/a/y", b"not for us")
            conn.publish("threads/end", b"")
            assert await until(lambda: len(seen) == 1, 3)
            # The broker forwards in the order it got them and the loop dispatches in order:
            # once the last is in, whatever the first two brought is in too.
            assert await until(lambda: ends == [b""], 3)
        finally:
            await conn.stop()
        assert seen == [("threads/a/x", b"\x01", loop_thread)]
        assert changes == [(True, loop_thread), (False, loop_thread)]

    asyncio.run(scenario())


def test_status_topic_online_retained_then_offline_on_clean_stop(mosquitto: Mosquitto) -> None:
    async def scenario() -> None:
        mark = mosquitto.mark()
        async with running_mqtt(mosquitto, "conn-status") as conn:
            # The broker has the retained "online" (its log says so once it has taken it).
            assert await until(lambda: said(mosquitto, "conn-status", conn.status_topic, mark), 3)
            late = Subscriber(mosquitto, conn.status_topic)  # joins after: sees the retained copy
            try:
                assert await until(lambda: late.messages, 3)
                assert late.messages[0][1:] == (b"online", True)
            finally:
                late.close()
            listener = Subscriber(mosquitto, conn.status_topic)
        try:
            assert await until(lambda: len(listener.messages) >= 2, 3)
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
            assert await until(lambda: not conn.is_connected, 3)
            mark = mosquitto_private.mark()
            mosquitto_private.start()
            assert await conn.wait_connected(5)
            # Subscribed again: the SUBSCRIBE goes out before the "online" (see above).
            assert await until(
                lambda: said(mosquitto_private, "conn-resub", conn.status_topic, mark), 3
            )
            outside = Subscriber(mosquitto_private, "resub/none")
            try:
                outside.client.publish("resub/t", "again", qos=1).wait_for_publish(2)
                assert await until(lambda: got == [b"again"], 3)
            finally:
                outside.close()
            health = conn.health()
            assert health.connects == 2 and health.connected

    asyncio.run(scenario())
