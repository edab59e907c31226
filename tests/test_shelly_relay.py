"""The Shelly driver against its device double on a real Mosquitto: payloads, dead-man, its own
faults. Faults every MQTT relay shares: tests/test_mqtt_relay_faults.py."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from peers.mosquitto import Mosquitto, Subscriber, unique_name
from rig_shelly import MakeShelly, make_shelly, shelly_relay
from waiting import broker_caught_up, until

from drivers.relays.base import RelayError
from drivers.relays.shelly import ShellyRelay, build_shelly, default_src
from drivers.settings.devices import ShellyRelayConfig
from drivers.settings.links import MqttConfig
from drivers.transports.mqtt import MqttConnection

__all__ = ["make_shelly"]  # the fixture, imported so pytest finds it here


def frames(messages: list[tuple[str, bytes, bool]]) -> list[tuple[str, Any]]:
    return [(topic, json.loads(payload)) for topic, payload, _retain in messages]


def test_exact_frames_both_ways_and_never_retained(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)
    double.config[0]["initial_state"] = "off"  # already safe: start-up only reads
    prefix, device, client_id = double.topic_prefix, double.device_id, unique_name("frames")
    src = f"{client_id}-src"
    replies = Subscriber(mosquitto, f"{src}/rpc")
    events = Subscriber(mosquitto, f"{prefix}/events/rpc")

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, client_id) as (relay, _conn):
            on = await relay.switch(1, True, deadman_s=30)
            assert (on.confirmation, on.attempts) == ("confirmed", 1)
            off = await relay.switch(1, False)
            assert (off.confirmation, off.attempts) == ("confirmed", 1)
            assert await until(lambda: len(replies.messages) == 6 and len(events.messages) == 2, 2)

    try:
        asyncio.run(scenario())
    finally:
        replies.close()
        events.close()
    sent = [(r.topic, r.frame) for r in double.requests]
    ids = [frame["id"] for _t, frame in sent if frame is not None]
    assert len(set(ids)) == 6 and all(isinstance(i, int) for i in ids)
    clock, config, a, b, c, d = ids

    def request(rid: int, method: str, params: dict[str, Any]) -> tuple[str, Any]:
        frame = {"jsonrpc": "2.0", "id": rid, "src": src, "method": method, "params": params}
        return f"{prefix}/rpc", frame

    assert sent == [
        request(clock, "Sys.GetStatus", {}),  # the device's clock, for timer_started_at
        request(config, "Switch.GetConfig", {"id": 0}),
        request(a, "Switch.Set", {"id": 0, "on": True, "toggle_after": 30}),
        request(b, "Switch.GetStatus", {"id": 0}),
        request(c, "Switch.Set", {"id": 0, "on": False}),
        request(d, "Switch.GetStatus", {"id": 0}),
    ]
    assert [(r.retain, r.qos) for r in double.requests] == [(False, 1)] * 6
    # A subscriber already connected is always told retain=0: the broker's log is the proof.
    logged = mosquitto.received_publishes(client_id)
    assert [retain for topic, retain in logged if topic == f"{prefix}/rpc"] == [False] * 6
    late = Subscriber(mosquitto, f"{prefix}/rpc")
    assert broker_caught_up(late.client)  # so a retained copy would be in by now
    late.close()
    assert late.messages == []  # nothing retained for a device that connects later

    def reply(rid: int, result: dict[str, Any]) -> tuple[str, Any]:
        return f"{src}/rpc", {"id": rid, "src": device, "dst": src, "result": result}

    got = frames(replies.messages)
    assert got[0][1]["result"]["unixtime"] == pytest.approx(time.time(), abs=60)
    assert got[1][1]["result"] == {**double.config[0], "initial_state": "off"}
    got = got[2:]
    started = got[1][1]["result"]["timer_started_at"]
    assert isinstance(started, float) and abs(started - time.time()) < 60
    timer = {"timer_started_at": started, "timer_duration": 30.0}
    status = {"id": 0, "source": "MQTT", "temperature": {"tC": 41.2, "tF": 106.2}}
    assert got == [
        reply(a, {"was_on": False}),
        reply(b, {**status, "output": True, **timer}),
        reply(c, {"was_on": True}),
        reply(d, {**status, "output": False}),
    ]
    notify = [frame for _t, frame in frames(events.messages)]
    assert [(n["method"], n["dst"], n["params"]["switch:0"]) for n in notify] == [
        ("NotifyStatus", f"{prefix}/events", {"id": 0, "output": True, "source": "MQTT", **timer}),
        ("NotifyStatus", f"{prefix}/events", {"id": 0, "output": False, "source": "MQTT"}),
    ]


def test_toggle_after_switches_off_by_itself(mosquitto: Mosquitto, make_shelly: MakeShelly) -> None:
    double = make_shelly(mosquitto)

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("deadman")) as (relay, _conn):
            await relay.switch(1, True, deadman_s=1)
            assert double.output(0) and double.timer(0) is not None
            assert relay.status(1).state == "on"
            # No command from us: the device's timer and its NotifyStatus do it.
            assert await until(lambda: relay.status(1).state == "off", 3)
            assert not double.output(0) and double.timer(0) is None
            assert len(double.received("Switch.Set")) == 1

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("fault", "reason", "read_back"),
    [("stuck", "output reads OFF", "off"), ("timerless", "flip-back timer is None, not 30", "on")],
)
def test_a_set_reply_alone_does_not_confirm(
    mosquitto: Mosquitto, make_shelly: MakeShelly, fault: str, reason: str, read_back: str
) -> None:
    double = make_shelly(mosquitto)
    setattr(double, fault, True)  # answers {"was_on": false}, but the read-back disagrees

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name(fault), retries=1) as (relay, _c):
            with pytest.raises(RelayError, match=rf"after 2 attempts \({reason}\)$"):
                await relay.switch(1, True, deadman_s=30)
            assert len(double.received("Switch.Set")) == 2
            assert relay.status(1).state == read_back

    asyncio.run(scenario())


def test_device_error_reply_fails_at_once_with_its_message(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto, channels=1)  # config says 2: switch:1 does not exist

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("err"), channels=2, check=False) as (
            relay,
            _c,
        ):
            with pytest.raises(RelayError) as caught:
                await relay.switch(2, False)  # OFF: not held back by the unreadable config
            assert str(caught.value) == (
                "继电器 east 第2路 未关闭：设备报错 -105: Argument 'id', value 1 not found! / "
                "relay east:2 not switched OFF: device error -105: "
                "Argument 'id', value 1 not found!"
            )
            with pytest.raises(RelayError, match=r"设备设置未读到 / .*: -105: Argument 'id'"):
                await relay.switch(2, True)
            assert len(double.received("Switch.Set")) == 1  # an answer: nothing to retry

    asyncio.run(scenario())


def test_default_src_and_factory() -> None:
    assert default_src("east/村 1").startswith("broadcastctl-")
    assert default_src("east/村 1").endswith("-east___1")  # one topic level, plain characters
    cfg = ShellyRelayConfig(id="east", type="shelly", topic_prefix="shellyplus1-a1")
    with pytest.raises(ValueError, match=r"^继电器 east 是 Shelly 设备.* / relay east is"):
        build_shelly(cfg, None)
    bad = ShellyRelayConfig(id="east", type="shelly", topic_prefix="shelly/+")
    with pytest.raises(
        ValueError, match=r"^继电器 east 的 topic_prefix 无效 / .* must not contain \+"
    ):
        build_shelly(bad, MqttConnection(MqttConfig(), status_topic="t"))

    async def scenario() -> None:
        relay = build_shelly(cfg, MqttConnection(MqttConfig(), status_topic="t"))  # not started
        assert isinstance(relay, ShellyRelay) and (relay.id, relay.channels) == ("east", 1)
        with pytest.raises(RelayError, match="invalid dead-man time"):
            await relay.switch(1, True, deadman_s=0)

    asyncio.run(scenario())
