"""Hardware-confirmed audio (issue 11 item 4): zones[].power in the config (hostile values
refused Chinese first), the pure verdict, and the station in-process on the virtual clock with
a fake relay that meters: confirmed, a dead amplifier, a meter that never answers, no meter."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from clocks import VirtualClock
from hostile_config import STATION, messages_of, station
from peers.daemon import SH
from peers.fake_station import slot, two_zone_station

from controller.config import load_config
from controller.config.power import PowerCheckConfig
from controller.engine.parts import build_engine
from controller.engine.status import station_status
from controller.station.power_check import PowerVerdict, Sample, verdict
from drivers.relays.fake import FakeRelay

CHECK = PowerCheckConfig(min_w=15, within_s=5)
NO_READING = (
    "开播 5 秒内 v:1 无功率读数 / no power reading from v:1 within 5 s of the audio's start"
)


@pytest.mark.parametrize(
    ("samples", "confirmed", "watts", "reason"),
    [
        ([Sample(0.5, 40.0)], True, 40.0, ""),
        ([Sample(0.0, 15.0)], True, 15.0, ""),  # at min_w is enough
        ([Sample(1, 3.0), Sample(2, None), Sample(3, 20.0)], True, 20.0, ""),
        ([Sample(5.0, 15.0)], True, 15.0, ""),  # the window's last instant counts
        ([Sample(5.01, 99.0)], False, None, NO_READING),  # too late
        ([Sample(-0.1, 99.0)], False, None, NO_READING),  # before the audio: an idle draw
        ([], False, None, NO_READING),
        ([Sample(1, None), Sample(2, None)], False, None, NO_READING),
        ([Sample(1, 14.9), Sample(2, 3.0)], False, 14.9, "开播 5 秒内 v:1 功率最高 14.9 W，低于 "
         "15 W / power on v:1 at most 14.9 W within 5 s of the audio's start, below 15 W"),
        ([Sample(1, 0.0)], False, 0.0, "开播 5 秒内 v:1 功率最高 0 W，低于 15 W / power on v:1 "
         "at most 0 W within 5 s of the audio's start, below 15 W"),
    ],
)  # fmt: skip
def test_the_verdict(
    samples: list[Sample], confirmed: bool, watts: float | None, reason: str
) -> None:
    assert verdict(samples, CHECK, "v:1") == PowerVerdict(confirmed, watts, reason)


def test_off_air_before_the_window_closed_is_no_verdict() -> None:
    reason = "开播 5 秒内已停播，未作判断 / off air within 5 s of the audio's start: no verdict"
    assert verdict([Sample(1, 3.0)], CHECK, "v:1", complete=False) == PowerVerdict(
        None, 3.0, reason
    )
    assert verdict([], CHECK, "v:1", complete=False) == PowerVerdict(None, None, reason)


def test_a_relay_that_cannot_meter_is_never_confirmed() -> None:
    found = verdict([Sample(1, 99.0)], CHECK, "rack:2", metered=False)
    reason = "继电器 rack:2 无法测量功率 / relay rack:2 cannot measure power"
    assert found == PowerVerdict(False, None, reason)


# --- config --------------------------------------------------------------------------------

ZONE = '  - {id: east, name: 东村, relays: ["r:1"]}\n'


def with_power(power: str, relays: str = "") -> str:
    text = STATION.replace(ZONE, f'  - {{id: east, name: 东村, relays: ["r:1"], power: {power}}}\n')
    return text.replace("relays:\n", f"relays:\n{relays}", 1)


def test_the_power_check_in_config(tmp_path: Path) -> None:
    text = with_power('{relay: "r:2", min_w: 15, within_s: 5}')
    (zone,) = load_config(station(tmp_path, text)).config.zones
    assert zone.power == PowerCheckConfig(relay="r:2", min_w=15, within_s=5)
    (tmp_path / "b").mkdir()
    (plain,) = load_config(station(tmp_path / "b", with_power("{min_w: 40}"))).config.zones
    assert plain.power == PowerCheckConfig(min_w=40) and plain.power.within_s == 5.0
    assert plain.power.relay is None  # the zone's first relay


POWER = "zones[0].power"
BAD_POWER = [
    ("{min_w: .nan}", f"{POWER}.min_w: nan 不是有限数值 / nan is not a finite number"),
    ("{min_w: 1.0e+999}", f"{POWER}.min_w: inf 不是有限数值 / inf is not a finite number"),
    ("{min_w: 1e999}", f"{POWER}.min_w: '1e999' 不是有限数值 / '1e999' is not a finite number"),
    ("{min_w: 1.0e+6}", f"{POWER}.min_w: 1e+06 太大，至多 100000 / 1e+06 is too large: at most "
     "100000"),
    ("{min_w: -5}", f"{POWER}.min_w: -5 太小，须大于 0 / -5 is too small: it must be more than 0"),
    ("{min_w: 0}", f"{POWER}.min_w: 0 太小，须大于 0 / 0 is too small: it must be more than 0"),
    ("{min_w: 15, within_s: .nan}", f"{POWER}.within_s: nan 不是有限的时长 / nan is not a "
     "finite duration"),
    ("{min_w: 15, within_s: -1}", f"{POWER}.within_s: -1 为负数 / -1 is negative; a duration "
     "must be zero or more"),
    ("{min_w: 15, within_s: 601}", f"{POWER}.within_s: 601 秒太大，至多 600 秒 / 601 s is too "
     "large: at most 600 s"),
    ('{min_w: 15, relay: "nowhere:1"}', f"{POWER}.relay: relay 'nowhere' is not defined under "
     "relays"),
    ('{min_w: 15, relay: "r:9"}', f"{POWER}.relay: relay 'r' has channels 1..4, not 9"),
    ("{min_w: 15, volts: 3}", f"{POWER}.volts: "),
]  # fmt: skip


@pytest.mark.parametrize(("power", "message"), BAD_POWER, ids=[p for p, _m in BAD_POWER])
def test_hostile_power_checks_are_refused_chinese_first(
    tmp_path: Path, power: str, message: str
) -> None:
    (found,) = messages_of(station(tmp_path, with_power(power)))
    line = STATION.splitlines().index(ZONE.rstrip("\n")) + 1
    assert found.startswith(f"config.yaml:{line}: {message}"), found


def test_a_relay_without_a_meter_is_refused(tmp_path: Path) -> None:
    rack = "  - {id: rack, type: lcus, port: /dev/ttyUSB9, channels: 2}\n"
    (found,) = messages_of(station(tmp_path, with_power('{min_w: 15, relay: "rack:2"}', rack)))
    assert found.endswith(
        "zones[0].power.relay: 继电器 'rack:2'（lcus）无法测量功率，请指定带电量计量的 Tasmota 或 "
        "Shelly 通道 / relay 'rack:2' (lcus) cannot measure power: name a Tasmota with energy "
        "monitoring or a Shelly PM channel"
    ), found


# --- the station, on the virtual clock -----------------------------------------------------


def run_airing(tmp: Path, meter: dict[str, Any], seconds: float = 8.0) -> tuple[Any, Any, Any]:
    clock = VirtualClock()
    start = clock.now().astimezone(SH) + timedelta(seconds=3)
    home = two_zone_station(tmp, [slot("午间", start, seconds)])
    config = home.root / "config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("- id: east\n", "- id: east\n  power: {min_w: 15, within_s: 3}\n")
    )

    async def scenario() -> tuple[dict[str, Any], FakeRelay]:
        parts = build_engine(load_config(config), clock=clock)
        relay = parts.relays["v"]
        assert isinstance(relay, FakeRelay)
        for name, value in meter.items():
            setattr(relay, name, value)
        await parts.start()
        await clock.wait_wall(start + timedelta(seconds=seconds - 1))
        status = station_status(parts)
        await clock.wait_wall(start + timedelta(seconds=seconds + 1.0))
        await parts.stop()
        return status, relay

    status, _relay = clock.run(scenario())
    rows = {r["zone"]: r for r in home.rows()}
    with sqlite3.connect(home.db) as db:
        alerts = db.execute("SELECT kind, subject FROM alerts").fetchall()
    return status, rows, alerts


def test_the_amplifiers_draw_confirms_the_zone(tmp_path: Path) -> None:
    status, rows, alerts = run_airing(tmp_path, {"load_w": {1: 40.0}})
    east, west = rows["east"], rows["west"]
    assert (east["audio_confirmed"], east["power_w"], east["power_reason"]) == (1, 40.0, "")
    assert east["outcome"] == "aired"
    assert (west["audio_confirmed"], west["power_w"]) == (None, None)  # west has no check
    assert not any("功放供电未确认" in f["text"] for f in status["faults"])
    assert [a for a in alerts if a[0] == "power_unconfirmed"] == []


@pytest.mark.parametrize(
    ("meter", "watts", "reason"),
    [
        ({"load_w": {1: 0.0}}, 0.0, "开播 3 秒内 v:1 功率最高 0 W，低于 15 W"),  # a dead amplifier
        ({"load_w": {1: 40.0}, "meter_silent": True}, None, "开播 3 秒内 v:1 无功率读数"),
        ({}, None, "继电器 v:1 无法测量功率 / relay v:1 cannot measure power"),
    ],
    ids=["dead amplifier", "meter never answers", "no meter"],
)
def test_an_unconfirmed_zone_is_in_the_row_the_status_and_an_alert(
    tmp_path: Path, meter: dict[str, Any], watts: float | None, reason: str
) -> None:
    status, rows, alerts = run_airing(tmp_path, meter)
    east = rows["east"]
    assert (east["audio_confirmed"], east["power_w"]) == (0, watts)
    assert east["power_reason"].startswith(reason)
    assert east["outcome"] == "aired"  # the audio went out; the record says it is unproven
    (fault,) = [f["text"] for f in status["faults"] if "功放供电未确认" in f["text"]]
    assert fault.startswith(f"播出 {east['airing_id']} 东村功放供电未确认 / east: {reason}")
    assert ("power_unconfirmed", "east") in alerts


def test_an_airing_over_before_the_window_closed_raises_no_alarm(tmp_path: Path) -> None:
    status, rows, alerts = run_airing(tmp_path, {"load_w": {1: 0.0}}, seconds=2.0)
    east = rows["east"]
    assert (east["audio_confirmed"], east["power_w"], east["outcome"]) == (None, 0.0, "aired")
    assert east["power_reason"].startswith("开播 3 秒内已停播，未作判断")
    assert not any("功放供电未确认" in f["text"] for f in status["faults"])
    assert ("power_unconfirmed", "east") not in alerts
