"""The Shelly dead-man is verified: a fresh timer on the device's clock, a safe switch config."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from peers.mosquitto import Mosquitto, unique_name
from rig_shelly import MakeShelly, make_shelly, shelly_relay, until

from drivers.relays.base import RelayError

__all__ = ["make_shelly"]  # the fixture, imported so pytest finds it here


@pytest.mark.parametrize("offset", [0.0, 3600.0, -7200.0])
def test_a_stale_timer_started_at_is_not_a_rearm(
    mosquitto: Mosquitto, make_shelly: MakeShelly, offset: float
) -> None:
    double = make_shelly(mosquitto)
    double.clock_offset_s = offset  # the device's own clock, however far from ours

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("stale")) as (relay, _c):
            assert (await relay.switch(1, True, deadman_s=30)).confirmation == "confirmed"
            before = len(double.received("Switch.Set"))  # 1, or 2 if a loaded machine retried
            double.stale_timer = True  # a Set while the timer runs keeps the old one
            double.age_timer(0, 10)  # ... which started 10 s ago
            with pytest.raises(RelayError) as caught:
                await relay.switch(1, True, deadman_s=30)
            assert re.fullmatch(
                r"继电器 east 第1路 定时关闭未确认 / relay east:1 dead-man \(toggle_after\) not "
                r"confirmed after 3 attempts \(flip-back timer started (9|10|11)\.\d s before "
                r"the request \(stale\)\)",
                str(caught.value),
            )
            assert len(double.received("Switch.Set")) - before == 3

    asyncio.run(scenario())


def test_without_device_time_a_timer_must_at_least_restart(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)
    double.clock_synced = False  # Sys.GetStatus unixtime null: nothing to compare with
    double.clock_offset_s = -1e6  # and its timer_started_at far from our clock

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("nosync"), retries=0) as (r, _c):
            assert (await r.switch(1, True, deadman_s=30)).confirmation == "confirmed"
            await asyncio.sleep(0.05)
            assert (await r.switch(1, True, deadman_s=30)).confirmation == "confirmed"
            double.stale_timer = True
            with pytest.raises(RelayError, match=r"\(flip-back timer not restarted"):
                await r.switch(1, True, deadman_s=30)

    asyncio.run(scenario())


def test_initial_state_and_auto_on_are_corrected_at_start(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto, channels=2)
    double.config[1]["auto_on"] = True

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("fix"), channels=2) as (r, _c):
            assert r.health().last_error is None
            for sid in (0, 1):
                assert double.config[sid]["initial_state"] == "off"
                assert double.config[sid]["auto_on"] is False
            sets = [q.frame["params"] for q in double.received("Switch.SetConfig") if q.frame]
            assert sets == [
                {"id": 0, "config": {"initial_state": "off"}},
                {"id": 1, "config": {"initial_state": "off", "auto_on": False}},
            ]

    asyncio.run(scenario())


def test_auto_on_is_refused_without_fix_settings(
    mosquitto: Mosquitto, make_shelly: MakeShelly
) -> None:
    double = make_shelly(mosquitto)
    double.config[0] |= {"initial_state": "off", "auto_on": True, "auto_on_delay": 0.5}

    async def scenario() -> None:
        async with shelly_relay(mosquitto, double, unique_name("refuse"), fix_settings=False) as (
            relay,
            _c,
        ):
            assert relay.health().last_error == (
                "设备设置不安全：第1路 auto_on（关闭 0.5 秒后自动开启） / unsafe device setting: "
                "switch 1 auto_on (back ON 0.5 s after every OFF)"
            )
            with pytest.raises(RelayError, match=r"^继电器 east 第1路 未开启：设备设置不安全"):
                await relay.switch(1, True, deadman_s=30)
            assert double.received("Switch.Set") == []
            # OFF goes out, but the read-back shows the auto_on timer: not confirmed, and rightly
            started = time.monotonic()
            with pytest.raises(RelayError, match=r"\(a 0.5 s timer would switch it back ON\)$"):
                await relay.switch(1, False)
            assert await until(lambda: double.output(0), 2)
            assert time.monotonic() - started > 0.4
        assert double.received("Switch.SetConfig") == []

    asyncio.run(scenario())
