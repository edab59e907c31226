"""Power readings (issue 11 item 4) from the Tasmota and Shelly drivers against their doubles on
a real Mosquitto: Tasmota `Status 8` → `stat/<t>/STATUS8` and `tele/<t>/SENSOR`, Shelly
Switch.GetStatus `apower` and NotifyStatus; a device that never reports power gives no reading
in bounded time; hostile payloads never crash the driver nor count as a reading."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from doubles.tasmota import TasmotaDouble
from peers.mosquitto import Mosquitto, Subscriber, unique_name
from rig_shelly import MakeShelly, make_shelly, shelly_relay
from rig_tasmota import tasmota_relay
from waiting import wait_for

from drivers.relays.base import PowerMeter, RelayDevice

__all__ = ["make_shelly"]  # the fixture, used by name
MakeTasmota = Callable[..., TasmotaDouble]

HOSTILE: list[str | bytes] = [
    b"\xff\xfe{", b"NaN", '{"ENERGY":{"Power":NaN}}', '{"ENERGY":{"Power":"1e999"}}',
    '{"ENERGY":{"Power":1e999}}',
    '{"ENERGY":{"Power":-5}}', '{"ENERGY":{"Power":true}}', '{"ENERGY":{"Power":"40"}}',
    '{"ENERGY":{"Power":' + "9" * 5000 + "}}", "[" * 100_000, '{"ENERGY":' * 50_000,
    '{"ENERGY":{"Power":[' + ",".join(["1"] * 20_000) + "]}}", "",
    '{"StatusSNS":{"ENERGY":{"Power":{"a":1}}}}', '{"StatusSNS":[1,2]}', "x" * 300_000,
]  # fmt: skip


def raw(payload: str | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else payload.encode()


def meter(relay: RelayDevice) -> PowerMeter:
    found = relay.power_meter()
    assert found is not None
    return found


def test_tasmota_status8_answers_with_the_energy_power(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.load_w[1] = 40
    answers = Subscriber(mosquitto, f"stat/{double.topic}/STATUS8")

    async def scenario() -> tuple[Any, Any, Any]:
        async with tasmota_relay(mosquitto, double, unique_name("status8")) as (relay, _c):
            off = await meter(relay).read_power(1)  # OFF: the amplifier draws nothing
            await relay.switch(1, True)
            on = await meter(relay).read_power(1)
            double.dead_loads.add(1)  # ON, but the amplifier behind it is dead
            dead = await meter(relay).read_power(1)
            return off, on, dead

    try:
        off, on, dead = asyncio.run(scenario())
        # the driver has its answers; this independent subscriber gets its copies a moment later
        wait_for(lambda: len(answers.messages) >= 3, 5)
    finally:
        answers.close()
    assert (off.watts, on.watts, dead.watts) == (0.0, 40.0, 0.0) and on.channel == 1
    assert [c.payload for c in double.received("Status")] == ["8", "8", "8"]
    body = json.loads(answers.messages[1][1])
    assert body["StatusSNS"]["ENERGY"]["Power"] == 40 and "Time" in body["StatusSNS"]


def test_tasmota_sensor_telemetry_is_a_reading_and_lists_give_each_channel(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto, channels=2)
    double.load_w.update({1: 25.5, 2: 60})

    async def scenario() -> tuple[Any, Any]:
        rig = tasmota_relay(mosquitto, double, unique_name("sensor"), channels=2)
        async with rig as (relay, _c):
            await relay.switch(2, True)
            double.mute = True  # no answer to Status 8: only the TelePeriod report comes
            pending = asyncio.ensure_future(meter(relay).read_power(2))
            await asyncio.sleep(0.05)
            double.publish_sensor()  # {"ENERGY":{"Power":[0, 60], ...}}
            second = await pending
            first = relay.power_seen(1)
            return first, second

    first, second = asyncio.run(scenario())
    assert second is not None and (second.channel, second.watts) == (2, 60.0)
    assert first is not None and first.watts == 0.0  # relay 1 is OFF: nothing drawn


def test_tasmota_without_energy_monitoring_gives_no_reading_not_a_hang(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.firmware.energy = False  # a Sonoff Basic: StatusSNS without ENERGY

    async def scenario() -> tuple[Any, float]:
        async with tasmota_relay(mosquitto, double, unique_name("noenergy")) as (relay, _c):
            await relay.switch(1, True)
            began = time.monotonic()
            reading = await meter(relay).read_power(1)
            return reading, time.monotonic() - began

    reading, took = asyncio.run(scenario())
    assert reading is None and took < 2.0  # the driver's confirm timeout (0.3 s), not for ever
    assert double.received("Status", "8")


def test_hostile_tasmota_payloads_never_crash_nor_count(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.load_w[1] = 33

    async def scenario() -> tuple[Any, Any]:
        async with tasmota_relay(mosquitto, double, unique_name("hostile")) as (relay, _c):
            for payload in HOSTILE:
                for where in ("tele", "stat"):
                    name = "SENSOR" if where == "tele" else "STATUS8"
                    double.send_raw(double.topic_for(where, name), raw(payload))
            await asyncio.sleep(0.5)  # an absence: time for the broker to deliver what was sent
            after_hostile = relay.power_seen(1)
            await relay.switch(1, True)  # the driver still works
            return after_hostile, await meter(relay).read_power(1)

    after_hostile, reading = asyncio.run(scenario())
    assert after_hostile is None and reading is not None and reading.watts == 33.0


def test_shelly_get_status_apower_and_notify_status(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)
    double.metering, double.load_w[0] = True, 52.3
    events = Subscriber(mosquitto, f"{double.topic_prefix}/events/rpc")

    async def scenario() -> tuple[Any, Any, Any]:
        async with shelly_relay(mosquitto, double, unique_name("apower")) as (relay, _c):
            off = await meter(relay).read_power(1)
            await relay.switch(1, True, deadman_s=30)
            on = await meter(relay).read_power(1)
            double.mute = True  # GetStatus unanswered: the device's own NotifyStatus answers
            double.dead_loads.add(0)
            pending = asyncio.ensure_future(meter(relay).read_power(1))
            await asyncio.sleep(0.05)
            double.report_power(0)
            return off, on, await pending

    def apower_frames() -> list[bytes]:
        return [p for _t, p, _r in events.messages if b"apower" in p]

    try:
        off, on, notified = asyncio.run(scenario())
        wait_for(apower_frames, 5)  # this subscriber's copies come a moment after the driver's
    finally:
        events.close()
    assert (off.watts, on.watts, notified.watts) == (0.0, 52.3, 0.0)
    frames = [json.loads(p) for _t, p, _r in events.messages]
    powered = [f["params"]["switch:0"] for f in frames if "apower" in f["params"]["switch:0"]]
    assert powered[0] == {"id": 0, "apower": 52.3}  # after the output changed to ON
    assert len(double.received("Switch.GetStatus")) >= 3


def test_shelly_without_a_meter_or_silent_gives_no_reading_in_bounded_time(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)  # metering off: GetStatus carries no apower

    async def scenario() -> tuple[Any, Any, float]:
        async with shelly_relay(mosquitto, double, unique_name("noapower")) as (relay, _c):
            await relay.switch(1, True, deadman_s=30)
            plain = await meter(relay).read_power(1)
            double.mute = True
            began = time.monotonic()
            silent = await meter(relay).read_power(1)
            return plain, silent, time.monotonic() - began

    plain, silent, took = asyncio.run(scenario())
    assert plain is None and silent is None and took < 2.0


def test_hostile_shelly_payloads_never_crash_nor_count(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)
    double.metering, double.load_w[0] = True, 18
    prefix = double.topic_prefix

    def notify(apower: Any) -> str:
        body = {"id": 0, "apower": apower}
        return json.dumps({"method": "NotifyStatus", "params": {"switch:0": body}})

    async def scenario() -> tuple[Any, Any]:
        async with shelly_relay(mosquitto, double, unique_name("shostile")) as (relay, _c):
            for payload in [*HOSTILE, '{"method":"NotifyStatus","params":[]}']:
                for topic in (f"{prefix}/events/rpc", f"{prefix}/status/switch:0"):
                    double.send_raw(topic, raw(payload))
                double.send_raw(
                    f"{prefix}/events/rpc", notify(raw(payload).decode("utf-8", "replace"))
                )
            for figure in ("NaN", "1e999", "-1e999", "-3"):  # as JSON numbers, not strings
                double.send_raw(f"{prefix}/events/rpc", notify(0).replace(": 0}", f": {figure}}}"))
            await asyncio.sleep(0.5)  # an absence: time for the broker to deliver what was sent
            before = relay.power_seen(1)
            await relay.switch(1, True, deadman_s=30)
            return before, await meter(relay).read_power(1)

    before, reading = asyncio.run(scenario())
    assert before is None and reading is not None and reading.watts == 18.0
