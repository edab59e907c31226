"""LCUS USB relays: golden frames, and the driver over a pty to a reader of the 4-byte frames."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from peers.pty import PtyPair
from peers.serial_rigs import LcusReader, wait_for

from drivers.protocols.lcus import LcusCommand, decode, encode
from drivers.relays.base import RelayError
from drivers.relays.lcus import LcusRelay, build_lcus
from drivers.settings.devices import LcusRelayConfig

GOLDEN = [
    (1, True, "A0 01 01 A2"),
    (1, False, "A0 01 00 A1"),
    (2, True, "A0 02 01 A3"),
    (8, False, "A0 08 00 A8"),
]


@pytest.mark.parametrize(("channel", "on", "frame"), GOLDEN)
def test_golden_frames(channel: int, on: bool, frame: str) -> None:
    assert encode(channel, on) == bytes.fromhex(frame)
    assert decode(bytes.fromhex(frame)) == LcusCommand(channel, on)


@pytest.mark.parametrize(
    ("frame", "complaint"),
    [
        ("A0 01 01", "4 bytes"),
        ("A1 01 01 A3", "start with A0"),
        ("A0 01 02 A3", "operation"),
        ("A0 01 01 A3", "checksum"),
        ("A0 09 01 AA", "channel"),
    ],
)
def test_bad_frames_are_named(frame: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        decode(bytes.fromhex(frame))


def test_channels_outside_1_to_8_cannot_be_encoded() -> None:
    for channel in (0, 9):
        with pytest.raises(ValueError):
            encode(channel, True)


def lcus(port: Path, channels: int = 4) -> LcusRelay:
    return build_lcus(LcusRelayConfig(id="usb", type="lcus", port=str(port), channels=channels))


def test_switches_are_commanded_never_confirmed(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(pair: PtyPair, reader: LcusReader) -> None:
        relay = lcus(pair.b)
        await relay.start()
        try:
            assert relay.status(1).state == "unknown"
            on = await relay.switch(1, True, deadman_s=60)
            assert (on.channel, on.on, on.confirmation, on.attempts) == (1, True, "commanded", 1)
            status = relay.status(1)
            assert (status.state, status.confirmed, status.since) == ("on", False, on.at)
            off = await relay.switch(3, False)
            assert off.confirmation == "commanded" and relay.status(3).state == "off"
            assert relay.health().available is None  # written, but the board cannot tell
            assert relay.deadman_max_s is None
        finally:
            await relay.stop()

    with caplog.at_level(logging.WARNING), PtyPair() as pair:
        reader = LcusReader(pair.a)
        try:
            asyncio.run(scenario(pair, reader))
            assert wait_for(lambda: len(reader.commands) == 2, 2)
            assert reader.commands == [(1, True), (3, False)] and reader.rejected == []
        finally:
            reader.close()
    assert "LCUS relays never answer and have no timer" in caplog.text
    assert "dead-man asked for, but LCUS has no timer" in caplog.text


def test_unknown_channel_sends_nothing() -> None:
    async def scenario(port: Path) -> None:
        relay = lcus(port, channels=2)
        await relay.start()
        try:
            with pytest.raises(RelayError, match=r"没有第3路 / relay usb has no channel 3"):
                await relay.switch(3, True)
        finally:
            await relay.stop()

    with PtyPair() as pair:
        reader = LcusReader(pair.a)
        try:
            asyncio.run(scenario(pair.b))
            assert not wait_for(lambda: reader.commands, 0.2)
        finally:
            reader.close()


def test_missing_port_is_a_clear_relay_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        relay = lcus(tmp_path / "ttyUSB9")
        await relay.start()  # does not raise: the daemon keeps running its other zones
        assert relay.health().available is False
        with pytest.raises(
            RelayError, match=r"^继电器 usb 第1路 未开启：串口不可用，命令未发送 / "
        ):
            await relay.switch(1, True)
        health = relay.health()
        assert health.available is False and health.last_error is not None
        assert "ttyUSB9" in health.last_error
        assert relay.status(1).state == "unknown"  # nothing was sent
        await relay.stop()

    asyncio.run(scenario())
