"""Serial relays when things go wrong: unplugged ports, silent boards, noise, refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import serial
from doubles.modbus_board import ModbusBoardDouble
from peers.pty import PtyPair
from peers.serial_rigs import modbus_config, started, wait_for
from waiting import until

from drivers.relays.base import RelayError
from drivers.relays.modbus import ModbusRelay, build_modbus
from drivers.transports.serial import SerialBus, SerialTimeout, SerialUnavailable


@pytest.fixture
def pair() -> Any:
    with PtyPair() as started_pair:
        yield started_pair


@pytest.fixture
def board(pair: PtyPair) -> Any:
    double = ModbusBoardDouble(pair.a)
    double.start()
    yield double
    double.stop()


def relay_on(pair: PtyPair, **cfg: Any) -> ModbusRelay:
    return build_modbus(modbus_config(pair.b, **cfg))


def test_port_that_disappears_and_returns(pair: PtyPair, board: ModbusBoardDouble) -> None:
    async def scenario() -> None:
        async with started(relay_on(pair)) as relay:
            await relay.switch(1, True)
            pair.kill()  # the USB-RS485 adapter is pulled
            with pytest.raises(
                RelayError, match=r"^继电器 rack 第1路 未关闭：串口不可用，命令未发送"
            ):
                await relay.switch(1, False)
            assert relay.health().available is False
            assert relay.status(1).state == "unknown"
            with pytest.raises(RelayError, match=r"cannot be opened|unavailable"):
                await relay.switch(1, False)
            pair.start()  # plugged in again: same device name, a new tty behind it
            assert await asyncio.to_thread(wait_for, lambda: board.opened == 2, 3)
            result = await relay.switch(1, False)  # the first request after it returns
            assert (result.confirmation, result.attempts) == ("confirmed", 1)
            assert relay.health().available is True and relay.status(1).state == "off"

    asyncio.run(scenario())


def test_board_that_stops_answering_fails_after_its_retries(
    pair: PtyPair, board: ModbusBoardDouble
) -> None:
    async def scenario() -> None:
        async with started(relay_on(pair, timeout_s=0.2, retries=2)) as relay:
            board.mute = True
            sent = len(board.requests)
            with pytest.raises(
                RelayError,
                match=r"^继电器 rack 第2路 未确认开启 / relay rack:2 did not confirm ON after 3 "
                r"attempts: .*no reply on serial port",
            ):
                await relay.switch(2, True)
            assert len(board.requests) - sent == 3
            assert relay.health().available is False and relay.status(2).state == "unknown"
            board.mute = False
            assert (await relay.switch(2, False)).attempts == 1
            assert relay.health().available is True

    asyncio.run(scenario())


def test_garbage_before_each_reply_still_confirms(pair: PtyPair, board: ModbusBoardDouble) -> None:
    async def scenario() -> None:
        async with started(relay_on(pair)) as relay:
            # Line noise, then bytes that look like the start of our own reply.
            board.noise = bytes.fromhex("00 FF 7E 01 05 00 01 01 01 02 13")
            result = await relay.switch(3, True)
            assert (result.confirmation, result.attempts) == ("confirmed", 1)
            assert board.is_on(3) and relay.status(3).state == "on"

    asyncio.run(scenario())


def test_exception_responses(pair: PtyPair, board: ModbusBoardDouble) -> None:
    async def scenario() -> None:
        async with started(relay_on(pair, retries=1)) as relay:
            board.refuse_with = 0x06  # busy: worth another try
            sent = len(board.requests)
            with pytest.raises(RelayError, match=r"未确认开启 / .*SERVER DEVICE BUSY"):
                await relay.switch(1, True)
            assert len(board.requests) - sent == 2
            board.refuse_with = 0x03  # the request itself is wrong: no retry
            with pytest.raises(RelayError, match=r"设备拒绝（ILLEGAL DATA VALUE）"):
                await relay.switch(1, True)
            assert len(board.requests) - sent == 3
            assert relay.health().available is True  # it answered, it just said no

    asyncio.run(scenario())


def test_missing_port_at_start_then_plugged_in(tmp_path: Path) -> None:
    link = PtyPair(tmp_path)

    async def scenario() -> None:
        relay = build_modbus(modbus_config(link.b))
        await relay.start()  # does not raise: other zones keep working
        health = relay.health()
        assert health.available is not True
        assert f"串口 {link.b} 无法打开 / serial port {link.b} cannot be opened" in (
            health.last_error or ""
        )
        with pytest.raises(RelayError, match="串口不可用"):
            await relay.switch(1, True)
        link.start()
        board = ModbusBoardDouble(link.a)
        board.start()
        try:
            assert await asyncio.to_thread(wait_for, lambda: board.opened == 1, 3)
            assert (await relay.switch(1, True)).confirmation == "confirmed"
        finally:
            await relay.stop()
            board.stop()

    try:
        asyncio.run(scenario())
    finally:
        link.close()


def test_cancelled_switch_does_not_garble_the_next(pair: PtyPair, board: ModbusBoardDouble) -> None:
    async def scenario() -> None:
        async with started(relay_on(pair, timeout_s=0.3)) as relay:
            board.mute = True
            sent = len(board.requests)
            task = asyncio.create_task(relay.switch(1, True))
            # Mid-request: the board has the command, and the driver waits for its reply.
            assert await until(lambda: len(board.requests) > sent, 3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            board.mute = False
            assert (await relay.switch(2, True)).attempts == 1

    asyncio.run(scenario())


def test_bus_is_exclusive_and_backs_off_when_the_port_is_missing(
    pair: PtyPair, tmp_path: Path
) -> None:
    opened: list[str] = []

    def counting(port: str, **options: Any) -> serial.Serial:
        opened.append(port)
        return serial.serial_for_url(port, **options)

    async def scenario() -> None:
        first, second = SerialBus(str(pair.b)), SerialBus(str(pair.b))
        await first.attach()
        with pytest.raises(SerialUnavailable, match=r"无法打开 / serial port .* cannot be opened"):
            await second.send(b"x")
        await first.detach()
        missing = SerialBus(str(tmp_path / "gone"), opener=counting)
        for _ in range(3):
            with pytest.raises(SerialUnavailable):
                await missing.send(b"x")
        assert len(opened) == 1  # within the backoff, no new attempt
        loop = SerialBus("loop://")
        echo = await loop.request(b"\xa0\x01\x01\xa2", lambda data: data or None, 0.5)
        assert echo == b"\xa0\x01\x01\xa2"
        with pytest.raises(SerialTimeout, match="无应答 / no reply"):
            await loop.request(b"abc", lambda data: None, 0.1)
        await loop.detach()

    asyncio.run(scenario())
