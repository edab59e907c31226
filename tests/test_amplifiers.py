"""An amplifier that does not confirm ON is part of the record (issue 11, item 2): the zones it
feeds are `failed` with the reason, unless a confirmed spare stood in for it (then the rows
say so). Pure table first, then the station in-process on the virtual clock (fake relays)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from clocks import VirtualClock
from peers.daemon import SH, StationDir
from peers.fake_station import slot

from controller.config import ConfigError, load_config
from controller.config.models import AmplifierConfig
from controller.engine.parts import build_engine
from controller.station.relaybank import amplifier_verdict
from drivers.relays.fake import FakeRelay

ZONES = ["east", "west"]


def amp(relay: str, **kw: Any) -> AmplifierConfig:
    return AmplifierConfig(relay=relay, **kw)


@pytest.mark.parametrize(
    ("stages", "failed", "broken", "covered"),
    [
        ([amp("v:3")], {}, set(), 0),
        ([amp("v:3")], {"v:3": "offline"}, {"east", "west"}, 0),  # feeds every zone
        ([amp("v:3", zones=["east"]), amp("v:4", zones=["west"])], {"v:3": "x"}, {"east"}, 0),
        ([amp("v:3"), amp("v:4", spare_for="v:3")], {"v:3": "x"}, set(), 1),  # spare confirmed
        ([amp("v:3"), amp("v:4", spare_for="v:3")], {"v:3": "x", "v:4": "y"}, set(ZONES), 0),
        ([amp("v:3", zones=["north"])], {"v:3": "x"}, set(), 0),  # feeds none of these
    ],
    ids=["all confirmed", "one stage", "one of two", "spare stood in", "spare failed too",
         "other zones"],
)  # fmt: skip
def test_which_zones_an_amplifier_failure_fails(
    stages: list[AmplifierConfig], failed: dict[str, str], broken: set[str], covered: int
) -> None:
    zones, notes = amplifier_verdict(stages, failed, ZONES)
    assert set(zones) == broken
    assert all("功放" in why and "not confirmed" in why for why in zones.values())
    assert len(notes) == covered and all("spare" in n for n in notes)


def station_with(tmp: Path, amplifiers: list[dict[str, Any]], slots: list[Any]) -> StationDir:
    station = StationDir(tmp)
    station.write_config({
        "audio": {"output": {"type": "null"}, "fade_out_s": 0.2},
        "relays": [{"id": "v", "type": "fake", "channels": 4}],
        "amplifiers": amplifiers,
        "zones": [{"id": "east", "name": "东村", "relays": ["v:1"]},
                  {"id": "west", "name": "西村", "relays": ["v:2"]}],
        "schedule": {"preroll_s": 0.5, "postroll_s": 0.2, "slots": slots},
    })  # fmt: skip
    return station


@pytest.mark.parametrize("spare", [False, True])
def test_an_amplifier_that_does_not_confirm_fails_its_zones_unless_a_spare_stands_in(
    tmp_path: Path, spare: bool
) -> None:
    clock = VirtualClock()
    start = clock.now().astimezone(SH) + timedelta(seconds=5)
    amplifiers: list[dict[str, Any]] = [{"relay": "v:3"}]
    if spare:
        amplifiers.append({"relay": "v:4", "spare_for": "v:3"})
    station = station_with(tmp_path, amplifiers, [slot("午间", start, 2)])

    async def scenario() -> None:
        parts = build_engine(load_config(station.root / "config.yaml"), clock=clock)
        relay = parts.relays["v"]
        assert isinstance(relay, FakeRelay)
        relay.failing_channels.add(3)
        await parts.start()
        await clock.wait_wall(start + timedelta(seconds=3.5))
        await parts.stop()

    clock.run(scenario())
    rows = {r["zone"]: r for r in station.rows()}
    for zone in ZONES:
        row = rows[zone]
        assert row["relay_on"] == "confirmed"  # the zone's own relay was fine
        if spare:
            assert row["outcome"] == "aired", row
            assert "备用 v:4 接替" in row["reason"] and "spare v:4 stood in" in row["reason"]
        else:
            assert row["outcome"] == "failed", row
            assert row["reason"].startswith("功放 v:3 未确认开启 / amplifier v:3 not confirmed")


def test_an_amplifier_confirmed_at_a_later_re_arm_is_late_not_failed(tmp_path: Path) -> None:
    clock = VirtualClock()
    start = clock.now().astimezone(SH) + timedelta(seconds=5)
    station = station_with(tmp_path, [{"relay": "v:3"}], [slot("午间", start, 4)])
    config = station.root / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("slots:", "rearm_s: 1\n  slots:"))

    async def scenario() -> None:
        parts = build_engine(load_config(config), clock=clock)
        relay = parts.relays["v"]
        assert isinstance(relay, FakeRelay)
        relay.failing_channels.add(3)  # the board does not answer at the switch-on...
        await parts.start()
        await clock.wait_wall(start + timedelta(seconds=0.5))
        relay.failing_channels.discard(3)  # ... and does by the next re-arm
        await clock.wait_wall(start + timedelta(seconds=5.5))
        await parts.stop()

    clock.run(scenario())
    for row in station.rows():
        assert row["outcome"] == "aired", row
        assert "功放 v:3 迟开 / amplifier v:3 confirmed ON late" in row["reason"]


@pytest.mark.parametrize(
    ("amplifier", "message"),
    [
        ({"relay": "v:3", "zones": ["north"]}, "zone 'north' is not defined under zones"),
        ({"relay": "v:3", "zones": []}, "an amplifier needs zones: all or zone ids"),
        ({"relay": "v:3", "spare_for": "v:3"}, "spare_for 'v:3' is not another amplifier's relay"),
        ({"relay": "v:3", "spare_for": "v:9"}, "spare_for 'v:9' is not another amplifier's relay"),
    ],
)
def test_amplifier_zones_and_spares_are_checked(
    tmp_path: Path, amplifier: dict[str, Any], message: str
) -> None:
    station = station_with(tmp_path, [amplifier], [])
    with pytest.raises(ConfigError) as caught:
        load_config(station.root / "config.yaml")
    assert any(message in m for m in caught.value.messages), caught.value.messages
