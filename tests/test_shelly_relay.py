"""The Shelly driver against its device double on a real Mosquitto: payloads, dead-man, faults."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from peers.mosquitto import Mosquitto, Subscriber, unique_name
from rig_shelly import MakeShelly, make_shelly, shelly_relay, until

from controller.config.devices import ShellyRelayConfig
from controller.config.models import MqttConfig
from drivers.relays.base import RelayError
from drivers.relays.shelly import ShellyRelay, build_shelly, default_src
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
    time.sleep(0.3)
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


def test_mute_device_fails_after_one_plus_retries_attempts(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("mute")) as (relay, _conn):
            double.mute = True
            with pytest.raises(RelayError) as caught:
                await relay.switch(1, True, deadman_s=60)
            assert str(caught.value) == (
                "继电器 east 第1路 未确认开启 / relay east:1 did not confirm ON after 3 attempts"
                " (no reply)"
            )
            assert await until(lambda: len(double.received("Switch.Set")) == 3, 1)
            assert double.received("Switch.GetStatus") == []
            assert relay.status(1).state == "unknown"
            assert relay.health().last_error == str(caught.value)

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


def test_button_press_updates_status_without_a_command(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("press")) as (relay, _conn):
            double.press(0)
            assert await until(lambda: relay.status(1).state == "on", 2)
            double.press(0)
            assert await until(lambda: relay.status(1).state == "off", 2)
            assert double.received("Switch.Set") == [] and double.received("Switch.GetStatus") == []

    asyncio.run(scenario())


def test_offline_device_is_unavailable_and_fails_fast(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("lwt")) as (relay, _conn):
            await relay.switch(1, True)
            double.go_offline()
            assert await until(lambda: relay.health().available is False, 3)
            assert relay.status(1).state == "unknown"
            started = time.monotonic()
            with pytest.raises(RelayError, match=r"^继电器 east 离线.* / relay east:1 .*offline"):
                await relay.switch(1, False)
            assert time.monotonic() - started < 0.2
            assert len(double.received("Switch.Set")) == 1
            double.start()
            assert await until(lambda: relay.health().available is True, 3)
            assert (await relay.switch(1, False)).confirmation == "confirmed"

    asyncio.run(scenario())


def test_broker_down_fails_fast_and_the_command_never_fires_later(
    mosquitto_private: Mosquitto, make_shelly: MakeShelly
) -> None:
    broker, double, client_id = (
        mosquitto_private,
        make_shelly(mosquitto_private),
        unique_name("down"),
    )

    async def scenario() -> None:
        async with shelly_relay(broker, double, client_id) as (relay, conn):
            broker.stop()
            assert await until(lambda: not conn.is_connected, 3)
            assert relay.health().available is None  # cut off: cannot tell
            started = time.monotonic()
            with pytest.raises(RelayError, match=r"^继电器 east 第1路 未开启：MQTT 服务器不可达"):
                await relay.switch(1, True, deadman_s=30)
            assert time.monotonic() - started < 0.2
            await asyncio.to_thread(broker.start)
            assert await conn.wait_connected(5)
            assert await asyncio.to_thread(double.wait_online, 5)
            await asyncio.sleep(1.5)
            assert double.received("Switch.Set") == []  # only the start-up reads, nothing replayed
            assert relay.health().available is True  # `online` again, retained
            assert (await relay.switch(1, True)).confirmation == "confirmed"

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
