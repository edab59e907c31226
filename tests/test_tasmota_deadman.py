"""The Tasmota dead-man is verified, not assumed: PulseTime replies, settings read at start-up."""

from __future__ import annotations

import asyncio
import time

import pytest
from doubles.tasmota import TasmotaDouble
from peers.mosquitto import Mosquitto, unique_name
from rig_tasmota import MakeTasmota, tasmota_relay
from waiting import until

from controller.config.models import ZoneConfig
from controller.core.clock import SystemClock
from controller.station.relaybank import RelayBank
from drivers.relays.base import RelayError


def test_firmware_with_8_timers_fails_the_zone_on_relay_9(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto, channels=9)
    double.firmware.pulse_timers = 8  # an older build: PulseTime9 is dropped without an answer

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("old"), channels=9) as (relay, _c):
            settings = relay.settings()
            assert settings is not None and settings.top_timer is False
            assert double.received("PulseTime9", "")  # the capacity query went out, unanswered
            bank = RelayBank({"east": relay}, SystemClock())
            zone = ZoneConfig(id="z9", name="九组", relays=["east:9"])
            result = await bank.switch_zone(zone, True, 60)
            assert result.result == "failed" and result.error is not None
            assert result.error.startswith("继电器 east 第9路 定时关闭未确认，未开启：固件只有 8")
            assert "firmware has 8 pulse timers only (PulseTime9 unanswered), relay 9 shares" in (
                result.error
            )
            # relay 1 shares timer 1 with relay 9 (relay 9 OFF would clear it): refused too
            with pytest.raises(RelayError, match="relay 1 shares one with 9"):
                await relay.switch(1, True, deadman_s=60)
            assert (await relay.switch(2, True, deadman_s=60)).confirmation == "confirmed"
            assert (await relay.switch(9, False)).confirmation == "confirmed"  # OFF always goes
        assert not double.received("POWER9", "ON") and not double.received("POWER1", "ON")
        assert not double.power(9) and double.power(2)

    asyncio.run(scenario())


def test_poweronstate_5_is_corrected_at_start(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.firmware.power_on_state = 5  # every OFF would arm the timer and turn the relay ON

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("pos5")) as (relay, _c):
            assert double.firmware.power_on_state == 0
            assert double.received("PowerOnState", "0")
            assert relay.health().last_error is None
            await relay.switch(1, True, deadman_s=1.2)
            await relay.switch(1, False)
            assert double.firmware.remaining(1) == 0  # the OFF left no timer running
            # An absence, on the double's real-time timer: 1.2 s after the OFF, PowerOnState 5
            # would have turned the relay ON (and told the driver so); 0.4 s more for the news.
            await asyncio.sleep(1.6)
            assert not double.power(1) and relay.status(1).state == "off"

    asyncio.run(scenario())


def test_poweronstate_5_is_refused_without_fix_settings(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.firmware.power_on_state = 5
    double.firmware.pulsetime[1] = 12  # 1.2 s left over from an earlier setup

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("refuse"), fix_settings=False) as (
            relay,
            _c,
        ):
            fault = relay.health().last_error
            assert fault == (
                "设备设置不安全：PowerOnState 5（反向定时：每次关闭后定时开启） / "
                "unsafe device setting: PowerOnState 5 "
                "(inverted PulseTime: every OFF turns back ON)"
            )
            with pytest.raises(RelayError) as caught:
                await relay.switch(1, True, deadman_s=60)
            assert str(caught.value).startswith(
                "继电器 east 第1路 未开启：设备设置不安全：PowerOnState 5"
            )
            assert "/ relay east:1 not switched ON: unsafe device setting: PowerOnState 5" in (
                str(caught.value)
            )
            assert not double.received("POWER1", "ON")
            # OFF still goes out, after disarming the inverted timer so it cannot turn ON later
            assert (await relay.switch(1, False)).confirmation == "confirmed"
            assert double.firmware.remaining(1) == 0  # the OFF armed no timer
            # An absence, on the double's real-time timer: the leftover 1.2 s PulseTime, had it
            # not been disarmed, would have turned the relay ON by then.
            await asyncio.sleep(1.6)
            assert not double.power(1)
        sent = [(c.command, c.payload) for c in double.commands if c.payload]
        assert sent == [("PulseTime1", "0"), ("POWER1", "OFF")]
        assert double.firmware.power_on_state == 5  # refused, not touched

    asyncio.run(scenario())


def test_the_double_turns_on_after_an_off_with_poweronstate_5(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    """The fault the driver guards against, shown on the double: OFF, then ON by itself."""
    double = make_tasmota(mosquitto)
    with double._lock:
        double.firmware.power_on_state = 5
        double.firmware.pulsetime[1] = 5  # 0.5 s
        double._send(double.firmware.switch(1, False, reply=False))
    deadline = time.monotonic() + 2
    while not double.power(1) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert double.power(1)


def test_a_pulsetime_reply_with_another_set_is_retried_then_fails(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.firmware.pulsetime_ignored = True  # answers {"PulseTime1":{"Set":0,...}}: not stored

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("wrongset")) as (relay, _c):
            with pytest.raises(RelayError) as caught:
                await relay.switch(1, True, deadman_s=30)
            assert str(caught.value) == (
                "继电器 east 第1路 定时关闭未确认，未开启 / relay east:1 dead-man (PulseTime) not "
                "confirmed after 3 attempts (PulseTime1 Set 0, not 130), not switched ON"
            )
            assert relay.health().last_error == str(caught.value)
        assert len(double.received("PulseTime1", "130")) == 3
        assert not double.received("POWER1") and not double.power(1)

    asyncio.run(scenario())


def test_setoption4_and_26_are_understood_and_left_alone(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.firmware.setoption4 = True  # replies on stat/<t>/<COMMAND>
    double.firmware.setoption26 = True  # POWER1 on a single relay

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("so4")) as (relay, _c):
            settings = relay.settings()
            assert settings is not None and (settings.setoption4, settings.setoption26) == (
                True,
                True,
            )
            on = await relay.switch(1, True, deadman_s=30)
            assert (on.confirmation, on.attempts) == ("confirmed", 1)
            assert (await relay.switch(1, False)).confirmation == "confirmed"
        # other systems may rely on these: nothing is sent to change them
        assert not double.received("SetOption4", "0") and not double.received("SetOption26", "0")

    asyncio.run(scenario())


def test_interlock_is_switched_off_so_zones_stay_independent(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto, channels=2)
    double.firmware.interlock = True

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("ilock"), channels=2) as (r, _c):
            assert double.received("Interlock", "0") and not double.firmware.interlock
            await r.switch(1, True, deadman_s=30)
            await r.switch(2, True, deadman_s=30)
            assert double.power(1) and double.power(2)

    asyncio.run(scenario())


def test_settings_are_read_again_when_the_device_comes_back(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double: TasmotaDouble = make_tasmota(mosquitto)

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("back")) as (relay, _c):
            double.go_offline()
            assert await until(lambda: relay.health().available is False, 3)
            assert relay.settings() is None
            double.firmware.power_on_state = 5  # reset or reflashed while away
            double.start()
            assert await until(lambda: relay.settings() is not None, 3)
            assert double.firmware.power_on_state == 0
            assert len(double.received("PowerOnState", "0")) == 2

    asyncio.run(scenario())


def test_a_silent_device_has_no_settings_and_on_is_refused(
    mosquitto: Mosquitto, make_tasmota: MakeTasmota
) -> None:
    double = make_tasmota(mosquitto)
    double.mute = True

    async def scenario() -> None:
        async with tasmota_relay(mosquitto, double, unique_name("mutest"), check=False) as (r, _c):
            with pytest.raises(
                RelayError, match=r"未开启：设备设置未读到 / .*not read \(no answer"
            ):
                await r.switch(1, True, deadman_s=30)
            assert not double.received("POWER1")

    asyncio.run(scenario())
