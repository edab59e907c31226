"""The mqtt-text display on a real Mosquitto: exact topics and payloads, QoS 1, never retained,
and a clear error when the broker is gone."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as paho
import pytest
from peers.mosquitto import Mosquitto, Subscriber, running_mqtt, unique_name
from waiting import broker_caught_up, until

from drivers.displays.base import DisplayError
from drivers.displays.mqtt_text import MqttTextDisplay
from drivers.settings.devices import MqttTextDisplayConfig
from drivers.transports.mqtt import MqttConnection


class QosSubscriber(Subscriber):
    """A Subscriber that also notes the QoS each message arrived with."""

    def __init__(self, broker: Mosquitto, topic_filter: str) -> None:
        self.qos: list[int] = []
        super().__init__(broker, topic_filter)
        record = self.client.on_message

        def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
            self.qos.append(msg.qos)
            if record is not None:
                record(client, userdata, msg)

        self.client.on_message = on_message

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for payload in self.payloads()]


def display(conn: MqttConnection, topic: str, charset: str = "utf-8") -> MqttTextDisplay:
    cfg = MqttTextDisplayConfig.model_validate(
        {"id": "gate", "type": "mqtt-text", "topic": topic, "charset": charset}
    )
    return MqttTextDisplay(cfg, conn)


def close(subscriber: Subscriber) -> None:
    """Close it and unhook its callbacks. paho 2.2 closes its internal loopback socket pair
    only when the client is collected; left in a callback → subscriber → client cycle, the
    GC may finalize those sockets first, an occasional ResourceWarning at the session's end."""
    subscriber.close()
    client = subscriber.client
    client.on_connect = client.on_subscribe = client.on_message = None


def recent(ts: str) -> bool:
    sent = datetime.fromisoformat(ts)
    return sent.tzinfo is not None and abs(datetime.now(UTC) - sent) < timedelta(seconds=10)


def test_text_clear_and_power_messages_are_exact(mosquitto: Mosquitto) -> None:
    topic = unique_name("led") + "/gate"
    client_id = unique_name("display")
    subscriber = QosSubscriber(mosquitto, topic)

    async def scenario() -> None:
        async with running_mqtt(mosquitto, client_id) as conn:
            screen = display(conn, topic)
            mark = mosquitto.mark()
            await screen.show("谨防冒充客服退款诈骗", color="red", hold_s=25.0)
            await screen.clear()
            await screen.power(False)
            assert await until(lambda: len(subscriber.messages) == 3, 3)
            shown, cleared, off = subscriber.json()
            assert {k: shown[k] for k in ("text", "color", "hold_s")} == {
                "text": "谨防冒充客服退款诈骗",
                "color": "red",
                "hold_s": 25.0,
            }
            assert set(shown) == {"text", "color", "hold_s", "ts"} and recent(shown["ts"])
            assert cleared | {"ts": "-"} == {"text": "", "color": None, "hold_s": 0, "ts": "-"}
            assert off | {"ts": "-"} == {"power": False, "ts": "-"}
            assert "谨防".encode() in subscriber.payloads()[0]  # UTF-8, not \\u escapes
            assert subscriber.qos == [1, 1, 1]

            # The broker's log says how each arrived (our status message goes to another topic).
            def to_topic() -> list[tuple[str, bool]]:
                return [p for p in mosquitto.received_publishes(client_id, mark) if p[0] == topic]

            assert await until(lambda: len(to_topic()) == 3, 3)
            assert to_topic() == [(topic, False)] * 3  # never retained
            health = screen.health()
            assert (health.showing, health.powered, health.last_ack) == (None, False, None)

    try:
        asyncio.run(scenario())
    finally:
        close(subscriber)


def test_a_screen_that_subscribes_later_gets_no_stale_message(mosquitto: Mosquitto) -> None:
    topic = unique_name("led") + "/late"

    async def scenario() -> None:
        async with running_mqtt(mosquitto, unique_name("display")) as conn:
            await display(conn, topic).show("不点陌生链接", hold_s=10)
        late = Subscriber(mosquitto, topic)
        try:
            assert broker_caught_up(late.client)  # so a retained copy would be in by now
            assert late.messages == []
        finally:
            close(late)

    asyncio.run(scenario())


def test_the_charset_decides_what_may_be_sent(mosquitto: Mosquitto) -> None:
    topic = unique_name("led") + "/charset"
    subscriber = Subscriber(mosquitto, topic)

    async def scenario() -> None:
        async with running_mqtt(mosquitto, unique_name("display")) as conn:
            with pytest.raises(ValueError, match=r"😊.*U\+1F60A.*GB2312"):
                await display(conn, topic, "gb2312").show("微笑😊", hold_s=10)
            await display(conn, topic, "utf-8").show("微笑😊", hold_s=10)
            assert await until(lambda: len(subscriber.messages) == 1, 3)
            assert json.loads(subscriber.payloads()[0])["text"] == "微笑😊"

    try:
        asyncio.run(scenario())
    finally:
        close(subscriber)


def test_without_the_broker_a_show_fails_clearly_and_is_not_sent_later(
    mosquitto_private: Mosquitto,
) -> None:
    topic = unique_name("led") + "/down"

    async def scenario() -> None:
        async with running_mqtt(mosquitto_private, unique_name("display")) as conn:
            screen = display(conn, topic)
            mosquitto_private.stop()
            assert await until(lambda: not conn.is_connected, 5)
            with pytest.raises(DisplayError) as err:
                await screen.show("不转账", hold_s=10)
            assert str(err.value).startswith("屏幕 gate 显示文字失败：MQTT 服务器不可达")
            assert "MQTT broker unreachable, message not sent" in str(err.value)
            health = screen.health()
            assert (health.available, health.showing) == (False, None)
            assert health.last_error == str(err.value) and await screen.ping() is False

            mosquitto_private.start()
            subscriber = Subscriber(mosquitto_private, topic)
            try:
                assert await until(lambda: conn.is_connected, 10)
                await screen.show("不汇款", hold_s=10)
                assert await until(lambda: len(subscriber.messages) == 1, 3)

                def texts() -> list[str]:
                    return [json.loads(p)["text"] for p in subscriber.payloads()]

                # Had the failed one gone out on reconnecting, it would have come before this.
                assert await until(lambda: "不汇款" in texts(), 3)
                await asyncio.sleep(0.2)  # an absence: and nothing trails it
                assert texts() == ["不汇款"]  # the failed one was never sent
                assert screen.health().last_error is None
            finally:
                close(subscriber)

    asyncio.run(scenario())
