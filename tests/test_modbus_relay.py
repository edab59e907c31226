"""The Modbus relay driver against real peers over a socat pty: pymodbus and the board double."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from doubles.modbus_board import ModbusBoardDouble
from peers.pty import PtyPair
from peers.serial_rigs import modbus_config, pymodbus_slave, started
from pymodbus import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from waiting import until

from drivers.relays.base import RelayError
from drivers.relays.modbus import ModbusRelay, build_modbus


def hexes(text: str) -> bytes:
    return bytes.fromhex(text)


def test_standard_board_switch_is_written_read_back_and_in_pymodbus_datastore() -> None:
    async def scenario(pair: PtyPair) -> None:
        async with (
            pymodbus_slave(pair.a) as slave,
            started(build_modbus(modbus_config(pair.b))) as relay,
        ):
            assert slave.received() == [hexes("01 01 00 00 00 08 3D CC")]  # state at start
            assert relay.status(3).state == "off"
            on = await relay.switch(3, True)
            assert (on.confirmation, on.attempts) == ("confirmed", 1)
            assert await slave.coils() == [False, False, True] + [False] * 5
            assert slave.received()[1:] == [
                hexes("01 05 00 02 FF 00 2D FA"),
                hexes("01 01 00 00 00 08 3D CC"),
            ]
            assert (relay.status(3).state, relay.status(3).confirmed) == ("on", True)
            await relay.switch(3, False)
            assert await slave.coils() == [False] * 8
            assert relay.status(3).state == "off"
            health = relay.health()
            assert (health.available, health.last_error) == (True, None)
            assert relay.deadman_max_s is None

    with PtyPair() as pair:
        asyncio.run(scenario(pair))


def test_switch_many_is_one_fc0f_frame_per_run_of_adjacent_coils() -> None:
    async def scenario(pair: PtyPair) -> None:
        async with (
            pymodbus_slave(pair.a) as slave,
            started(build_modbus(modbus_config(pair.b))) as relay,
        ):
            results = await relay.switch_many(range(1, 9), True)
            assert [r.channel for r in results] == list(range(1, 9))
            assert {(r.confirmation, r.attempts) for r in results} == {("confirmed", 1)}
            assert slave.received()[1:] == [
                hexes("01 0F 00 00 00 08 01 FF BE D5"),
                hexes("01 01 00 00 00 08 3D CC"),
            ]
            assert await slave.coils() == [True] * 8
            await relay.switch_many([1, 2, 5], False)  # 3, 4 lie between: left alone
            assert await slave.coils() == [False, False, True, True, False, True, True, True]
            assert [f[1] for f in slave.received()[3:5]] == [0x0F, 0x0F]
            assert [relay.status(ch).state for ch in (1, 3, 5)] == ["off", "on", "off"]

    with PtyPair() as pair:
        asyncio.run(scenario(pair))


def test_exception_from_pymodbus_is_a_relay_error_naming_it() -> None:
    async def scenario(pair: PtyPair) -> None:
        cfg = modbus_config(pair.b, channels=40)  # the slave has 16 coils: 33..40 do not exist
        async with pymodbus_slave(pair.a, coils=16) as slave, started(build_modbus(cfg)) as relay:
            sent = len(slave.received())
            with pytest.raises(
                RelayError, match=r"设备拒绝（ILLEGAL DATA ADDRESS）.*relay rack:33"
            ):
                await relay.switch(33, True)
            assert len(slave.received()) == sent + 1  # a wrong address is not retried
            assert "ILLEGAL DATA ADDRESS" in (relay.health().last_error or "")

    with PtyPair() as pair:
        asyncio.run(scenario(pair))


def test_rtu_over_tcp_through_a_socket_url() -> None:
    """An RS-485-to-Ethernet converter: the same RTU frames through pyserial's socket://."""

    async def scenario() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        bits = [SimData(0, values=[False] * 8, datatype=DataType.BITS)]
        words = [SimData(0, values=[0], datatype=DataType.REGISTERS)]
        device = SimDevice(id=1, simdata=(bits, list(bits), words, list(words)))
        server = ModbusTcpServer(device, address=("127.0.0.1", port), framer=FramerType.RTU)
        await server.serve_forever(background=True)
        try:
            cfg = modbus_config(f"socket://127.0.0.1:{port}")
            async with started(build_modbus(cfg)) as relay:
                assert (await relay.switch(2, True)).confirmation == "confirmed"
                assert (await server.async_getValues(1, 1, 0, 8))[:3] == [False, True, False]
        finally:
            await server.shutdown()  # type: ignore[no-untyped-call]

    asyncio.run(scenario())


def board_and_relay(
    pair: PtyPair, profile: str, **cfg: object
) -> tuple[ModbusBoardDouble, ModbusRelay]:
    board = ModbusBoardDouble(pair.a, profile=profile)
    board.start()
    return board, build_modbus(modbus_config(pair.b, profile=profile, **cfg))


def test_waveshare_deadman_is_the_boards_timed_command_and_falls_off_by_itself() -> None:
    async def scenario(board: ModbusBoardDouble, relay: ModbusRelay) -> None:
        async with started(relay):
            assert relay.deadman_max_s == pytest.approx(3276.7)
            on = await relay.switch(1, True, deadman_s=0.7)
            assert on.confirmation == "confirmed"
            assert board.requests[1] == hexes("01 05 02 00 00 07 8D B0")
            assert board.is_on(1) and relay.status(1).state == "on"
            assert await until(lambda: relay.status(1).state == "off", 3)  # read back after
            (t_on, _, _), (t_off, ch, now_on) = board.changes
            assert (ch, now_on) == (1, False) and 0.5 < t_off - t_on < 1.5
            await relay.switch(1, True)  # remembered, like PulseTime: re-armed
            assert board.requests[-2] == hexes("01 05 02 00 00 07 8D B0")
            await relay.switch(1, False)
            assert board.requests[-2] == hexes("01 05 00 00 00 00 CD CA")
            await relay.switch(1, True, deadman_s=0)  # 0 disables it
            assert board.requests[-2] == hexes("01 05 00 00 FF 00 8C 3A")
            # An absence, on the board's real-time timers: a 0.7 s timer, had this ON armed one
            # (or left the old one), would have switched the relay off by then.
            await asyncio.sleep(1.0)
            assert board.is_on(1) and relay.status(1).state == "on"

    with PtyPair() as pair:
        board, relay = board_and_relay(pair, "waveshare")
        try:
            asyncio.run(scenario(board, relay))
        finally:
            board.stop()


def test_waveshare_deadman_longer_than_the_board_takes_is_capped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario(board: ModbusBoardDouble, relay: ModbusRelay) -> None:
        async with started(relay):
            await relay.switch(2, True, deadman_s=4000)
            assert board.requests[1][2:6] == hexes("02 01 7F FF")
            await relay.switch(2, False)

    with caplog.at_level(logging.WARNING), PtyPair() as pair:
        board, relay = board_and_relay(pair, "waveshare")
        try:
            asyncio.run(scenario(board, relay))
        finally:
            board.stop()
    assert "dead-man of 4000 s capped to the board's 3276.7 s" in caplog.text


def test_r421a08_commands_read_back_and_delay() -> None:
    async def scenario(board: ModbusBoardDouble, relay: ModbusRelay) -> None:
        async with started(relay):
            assert len(board.requests) == 8  # one FC03 per relay at start
            await relay.switch(1, True)
            assert board.requests[8:] == [
                hexes("01 06 00 01 01 00 D9 9A"),
                hexes("01 03 00 01 00 01 D5 CA"),
            ]
            await relay.switch(1, False)
            assert board.requests[10] == hexes("01 06 00 01 02 00 D9 6A")
            await relay.switch(2, True, deadman_s=1)
            assert board.requests[12][2:6] == hexes("00 02 06 01")
            assert await until(lambda: relay.status(2).state == "off", 4)
            assert not board.is_on(2)
            results = await relay.switch_many([3, 4], True)  # no FC0F on this board
            assert [r.confirmation for r in results] == ["confirmed"] * 2
            assert [f[1] for f in board.requests[-4:]] == [6, 6, 3, 3]

    with PtyPair() as pair:
        board, relay = board_and_relay(pair, "r421a08")
        try:
            asyncio.run(scenario(board, relay))
        finally:
            board.stop()


def test_standard_board_warns_that_it_has_no_deadman(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(board: ModbusBoardDouble, relay: ModbusRelay) -> None:
        async with started(relay):
            for _ in range(2):
                assert (await relay.switch(1, True, deadman_s=5)).confirmation == "confirmed"
            assert board.requests[1] == hexes("01 05 00 00 FF 00 8C 3A")

    with caplog.at_level(logging.WARNING), PtyPair() as pair:
        board, relay = board_and_relay(pair, "standard")
        try:
            asyncio.run(scenario(board, relay))
        finally:
            board.stop()
    assert "standard Modbus board has no device-side timer, so no dead-man" in caplog.text
    assert caplog.text.count("asked for, but the board has no timer") == 1


def test_echo_without_the_relay_moving_is_not_confirmed() -> None:
    """A welded contact or dead coil driver: the board echoes, the read-back disagrees."""

    async def scenario(board: ModbusBoardDouble, relay: ModbusRelay) -> None:
        async with started(relay):
            board.stuck.add(4)
            with pytest.raises(RelayError, match=r"^继电器 rack 第4路 未确认开启 / .*3 attempts"):
                await relay.switch(4, True)
            assert len(board.requests) == 1 + 3 * 2
            assert relay.status(4).state == "off"

    with PtyPair() as pair:
        board, relay = board_and_relay(pair, "standard")
        try:
            asyncio.run(scenario(board, relay))
        finally:
            board.stop()
