"""Broker loss over the switch-on moment (issue 9, item 5): the engine (in-process, on the
system clock), a real Mosquitto that is stopped and started again, Tasmota doubles. The ON
that could not be sent is never replayed, but once the broker is back inside the airing's
window a fresh ON with a fresh dead-man goes out, the record says how late, and everything is
off at the end; an outage from mid-slot to past its end fires no late ON at all. The daemon's
processes are test_daemon_e2e's and test_processes' business; no process start-up to wait for
lets a slot start five seconds ahead instead of ten."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from doubles.tasmota import TasmotaDouble
from peers.daemon import POSTROLL, PREROLL, SETTLE, Rig, powers, slot, station_time, wait_until
from peers.engine import EngineThread
from peers.mosquitto import Mosquitto
from waiting import seconds_to, wait_for

pytestmark = pytest.mark.timeout(90)


LEAD_S = 5  # the engine starts in well under a second; the first outage is 3.6 s before t


def closed_rows(rig: Rig) -> dict[str, dict[str, Any]]:
    """The record's rows by zone once every one is closed (empty until then)."""
    rows = {str(r["zone"]): r for r in rig.station.rows()}
    return rows if rows and all(r["outcome"] for r in rows.values()) else {}


def test_zones_come_on_late_when_the_broker_returns_inside_the_window(
    tmp_path: Path, mosquitto_private: Mosquitto, make_tasmota: Callable[..., TasmotaDouble]
) -> None:
    rig = Rig(tmp_path, mosquitto_private, make_tasmota)
    engine = EngineThread(rig.station.root / "config.yaml")
    try:
        t = station_time(LEAD_S + 1)
        rig.config([slot("午间", t, 6)])
        engine.start()
        wait_until(t, -(PREROLL + 2 * SETTLE + 1.5))  # before the amplifiers' switch-on
        mosquitto_private.stop()
        wait_until(t, 0.5)  # the broker is back half a second after the planned start
        mosquitto_private.start()
        back = t.timestamp() + 0.5
        # by the moment a fixed sleep used to end (the amplifiers' own dead-man is later)
        rows = wait_for(lambda: closed_rows(rig), seconds_to(t, 6 + POSTROLL + 2.0))
        assert rows
        amps_off = wait_for(
            lambda: rig.rack.power(1) is False and rig.rack.power(2) is False,
            seconds_to(t, 6 + POSTROLL + 2.0),
        )
        for zone in (rig.east, rig.west):
            ons = [x for x in powers(zone, "ON") if x > t.timestamp() - PREROLL - 3]
            assert ons and all(x >= back for x in ons), ons  # fresh ONs only, after the return
            assert ons[0] < t.timestamp() + 6  # inside the window
            assert not zone.power()  # off again at the end
        assert amps_off
        for zone_id in ("east", "west"):
            row = rows[zone_id]
            assert row["outcome"] == "aired", row
            assert row["relay_on"] == "confirmed"
            assert "秒开启" in row["reason"] and "s late" in row["reason"], row["reason"]
    finally:
        engine.stop()


def test_an_off_lost_in_an_outage_is_sent_again_on_reconnect_while_another_zone_airs(
    tmp_path: Path, mosquitto_private: Mosquitto, make_tasmota: Callable[..., TasmotaDouble]
) -> None:
    """West is cut by a blackout while the broker is down; its OFF could not be sent. When the
    broker is back, west gets its OFF at once (not at its dead-man), and east airs on."""
    rig = Rig(tmp_path, mosquitto_private, make_tasmota)
    engine = EngineThread(rig.station.root / "config.yaml")
    try:
        t = station_time(LEAD_S)
        rig.config(
            [slot("午间", t, 12)],
            blackouts=[{
                "name": "西村考点",
                "start": f"{t + timedelta(seconds=3):%Y-%m-%dT%H:%M:%S}",
                "end": f"{t + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}",
                "zones": ["west"],
            }],
        )  # fmt: skip
        engine.start()
        wait_until(t, 2.0)
        assert rig.east.power() and rig.west.power()
        mosquitto_private.stop()  # over the blackout's start: west's OFF is lost
        wait_until(t, 5.0)
        mosquitto_private.start()
        for zone in (rig.east, rig.west):
            assert zone.wait_online(10)
        back = time.time()
        wait_until(t, 8.0)
        assert not rig.west.power()  # OFF re-sent, long before its dead-man
        west_offs = [x for x in powers(rig.west, "OFF") if x >= back - 0.5]
        assert west_offs and west_offs[0] - back < 2.0
        assert rig.east.power()  # the airing goes on on east
        rows = wait_for(lambda: closed_rows(rig), seconds_to(t, 12 + POSTROLL + 1.5))
        assert rows
        assert rows["east"]["outcome"] == "aired"
        assert rows["west"]["outcome"] == "cut"
    finally:
        engine.stop()


def test_a_device_that_comes_back_on_is_switched_off_when_nothing_airs(
    tmp_path: Path, mosquitto: Mosquitto, make_tasmota: Callable[..., TasmotaDouble]
) -> None:
    """A loudspeaker relay back from a Wi-Fi or power loss in the ON state (a local button,
    a PowerOnState before the station corrected it) is driven OFF soon after it says Online."""
    rig = Rig(tmp_path, mosquitto, make_tasmota)
    engine = EngineThread(rig.station.root / "config.yaml")
    try:
        rig.config([slot("午间", station_time(3600), 5)])
        engine.start()
        # the safe state on connecting has reached west (and it replied)
        assert wait_for(lambda: powers(rig.west, "OFF"), 10)
        rig.west.go_offline()
        with rig.west._lock:
            rig.west.firmware.power[1] = True  # it comes back ON, with no timer running
        rig.west.start()
        assert wait_for(lambda: not rig.west.power(), 6)
    finally:
        engine.stop()


def test_broker_outage_mid_slot_never_fires_a_late_on(
    tmp_path: Path, mosquitto_private: Mosquitto, make_tasmota: Callable[..., TasmotaDouble]
) -> None:
    """The broker goes away mid-slot and comes back after the slot has ended: the OFFs could
    not be sent, nothing queued meanwhile arrives late, and the dead-man has switched off."""
    rig = Rig(tmp_path, mosquitto_private, make_tasmota)
    engine = EngineThread(rig.station.root / "config.yaml")
    try:
        t = station_time(LEAD_S)
        rig.config([slot("午间", t, 5)])
        engine.start()
        wait_until(t, 1.0)
        assert rig.east.power() and rig.west.power()
        mosquitto_private.stop()
        wait_until(t, 5 + POSTROLL + 1.0)  # the OFF commands could not be sent
        mosquitto_private.start()
        back = time.time()
        for zone in (rig.east, rig.west):
            assert zone.wait_online(10)
        time.sleep(max(back + 4.0 - time.time(), 0.0))  # a late ON would have arrived by now
        for zone in (rig.east, rig.west):
            # nothing queued during the outage arrives late, and the device is off (dead-man)
            assert [on for on in powers(zone, "ON") if on > back] == []
            assert not zone.power()
        rows = rig.station.rows()
        assert {r["relay_off"] for r in rows} == {"failed"}, rows
    finally:
        engine.stop()
