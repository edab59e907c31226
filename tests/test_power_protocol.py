"""Power readings as pure code (drivers/protocols/power.py): the vendors' example payloads, the
doubles' payloads against the same shapes, and hostile figures that give no reading."""

from __future__ import annotations

import json
from typing import Any

import pytest
from doubles.tasmota_firmware import Firmware

from drivers.protocols.power import (
    DEVICE,
    MAX_PAYLOAD,
    load,
    shelly_apower,
    shelly_notified,
    tasmota_power,
    watts,
)

# Tasmota's answer to `Status 8` from an energy-monitoring plug, in the form its docs and the
# projects built on it quote (stat/<t>/STATUS8), and the same ENERGY object on tele/<t>/SENSOR.
TASMOTA_STATUS8 = (
    '{"StatusSNS":{"Time":"2019-09-06T20:06:19","ENERGY":{"TotalStartTime":"2019-08-18T11:07:55",'
    '"Total":0.003,"Yesterday":0.000,"Today":0.003,"Power":26,"ApparentPower":25,'
    '"ReactivePower":25,"Factor":0.06,"Voltage":239,"Current":0.106}}}'
)
TASMOTA_SENSOR = (
    '{"Time":"2022-01-11T21:57:38","ENERGY":{"TotalStartTime":"2020-10-21T22:15:00",'
    '"Total":3.705,"Yesterday":0.028,"Today":0.026,"Period":1,"Power":5,"ApparentPower":5,'
    '"ReactivePower":0,"Factor":1.00,"Voltage":233,"Current":0.021}}'
)
TASMOTA_TWO_CHANNELS = '{"Time":"2022-01-11T21:57:38","ENERGY":{"Power":[12.5,0],"Voltage":231}}'
# Shelly Gen2 Switch status (Switch docs, Status: apower "shown if applicable").
SHELLY_STATUS = {
    "id": 0, "source": "timer", "output": True, "apower": 8.9, "voltage": 237.5,
    "current": 0.075, "aenergy": {"total": 6.532, "by_minute": [45.199, 47.141, 88.397],
                                  "minute_ts": 1654511972}, "temperature": {"tC": 23.5, "tF": 74.4},
}  # fmt: skip


def test_the_vendors_examples() -> None:
    assert tasmota_power(json.loads(TASMOTA_STATUS8), "StatusSNS") == {DEVICE: 26.0}
    assert tasmota_power(json.loads(TASMOTA_SENSOR)) == {DEVICE: 5.0}
    assert tasmota_power(json.loads(TASMOTA_TWO_CHANNELS)) == {1: 12.5, 2: 0.0}
    assert tasmota_power(json.loads(TASMOTA_STATUS8)) == {}  # STATUS8 holds it in StatusSNS
    assert shelly_apower(SHELLY_STATUS) == {1: 8.9}
    frame = {"src": "shellypro4pm-a8032ab12345", "dst": "x/events", "method": "NotifyStatus",
             "params": {"ts": 1.0, "switch:1": {"id": 1, "apower": 40.2}}}  # fmt: skip
    assert shelly_notified(frame) == {2: 40.2}
    assert shelly_notified({**frame, "method": "NotifyEvent"}) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0.0), (15, 15.0), (15.5, 15.5), (100_000, 100_000.0), (100_001, None),
     (-0.1, None), (float("nan"), None), (float("inf"), None), (10**400, None), (True, None),
     ("40", None), ("1e999", None), (None, None), ([40], None), ({"Power": 1}, None)],
)  # fmt: skip
def test_a_figure_is_a_finite_number_of_watts(value: Any, expected: float | None) -> None:
    assert watts(value) == expected


@pytest.mark.parametrize(
    "payload",
    [b"NaN", b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe", b"", b"1" * 5000,
     b"x" * (MAX_PAYLOAD + 1), b'{"ENERGY":{"Power":' + b"1" * (MAX_PAYLOAD) + b"}}"],
)  # fmt: skip
def test_hostile_payloads_load_as_nothing_or_as_no_reading(payload: bytes) -> None:
    data = load(payload)
    assert tasmota_power(data) == {} and tasmota_power(data, "StatusSNS") == {}
    assert shelly_apower(data) == {} and shelly_notified(data) == {}


@pytest.mark.parametrize(
    "body",
    [{"id": 0, "apower": "12"}, {"id": True, "apower": 3}, {"id": -1, "apower": 3},
     {"id": 99, "apower": 3}, {"apower": 3}, {"id": 0, "apower": float("nan")}, [0, 3]],
)  # fmt: skip
def test_shelly_statuses_that_are_no_reading(body: Any) -> None:
    assert shelly_apower(body) == {}  # NotifyStatus names the switch in its key instead:
    for bad in ("12", float("nan"), float("inf"), -3, None, True):
        entry = {"switch:0": {"id": 0, "apower": bad}, "switch:x": {"apower": 3}}
        assert shelly_notified({"method": "NotifyStatus", "params": entry}) == {}


def test_nan_as_json_gives_no_reading() -> None:
    assert tasmota_power(load(b'{"ENERGY":{"Power":NaN}}')) == {}
    assert tasmota_power(load(b'{"ENERGY":{"Power":1e999}}')) == {}  # infinity in JSON
    assert tasmota_power(load(b'{"ENERGY":{"Power":[NaN, 7]}}')) == {2: 7.0}


def firmware(channels: int) -> Firmware:
    return Firmware(channels, lambda _s, _a: None)


def test_the_tasmota_double_answers_status_8_in_the_documented_shape() -> None:
    fw = firmware(1)
    fw.load_w[1] = 40
    (off,) = fw.command("Status", "8")
    fw.command("POWER1", "ON")
    (on,) = fw.command("Status", "8")
    assert (on.prefix, on.name, on.reply) == ("stat", "STATUS8", True)
    documented = json.loads(TASMOTA_STATUS8)["StatusSNS"]
    body = json.loads(on.payload)["StatusSNS"]
    assert body.keys() == documented.keys()
    assert body["ENERGY"].keys() >= documented["ENERGY"].keys() - {"Period"}
    assert (
        body["ENERGY"]["Power"] == 40
        and json.loads(off.payload)["StatusSNS"]["ENERGY"]["Power"] == 0
    )
    fw.dead_loads.add(1)  # the amplifier behind relay 1 died: ON, drawing nothing
    assert json.loads(fw.command("Status", "8")[0].payload)["StatusSNS"]["ENERGY"]["Power"] == 0


def test_the_tasmota_double_lists_each_channel_and_may_have_no_meter() -> None:
    fw = firmware(2)
    fw.load_w.update({1: 10, 2: 30})
    fw.command("POWER2", "ON")
    assert fw.sensors()["ENERGY"]["Power"] == [0.0, 30.0]  # type: ignore[index]
    fw.energy = False  # a plain relay: StatusSNS without ENERGY
    assert set(json.loads(fw.command("Status", "8")[0].payload)["StatusSNS"]) == {"Time"}
