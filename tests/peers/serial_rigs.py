"""Serial relay drivers wired to peers over a socat pty: pymodbus, the board double, LCUS."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import serial
from doubles.modbus_board import ModbusBoardDouble
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.relays.base import RelayDevice
from drivers.relays.lcus import build_lcus
from drivers.relays.modbus import ModbusRelay, build_modbus
from drivers.settings.devices import LcusRelayConfig, ModbusRtuRelayConfig
from peers.pty import PtyPair

SERIAL_KINDS = ["modbus", "modbus-waveshare", "modbus-r421a08", "lcus"]


class PymodbusSlave:
    """pymodbus's RTU server with `coils` coils; `packets` holds every frame in and out."""

    def __init__(self, server: ModbusSerialServer, unit: int, coils: int) -> None:
        self.server, self.unit, self.count = server, unit, coils
        self.packets: list[tuple[bool, bytes]] = []  # (sending, frame) as pymodbus traced them

    def received(self) -> list[bytes]:
        return [frame for sending, frame in self.packets if not sending]

    async def coils(self) -> list[bool]:
        """The coils as the server's datastore holds them."""
        values = await self.server.async_getValues(self.unit, 1, 0, self.count)
        return [bool(v) for v in values]


@asynccontextmanager
async def pymodbus_slave(
    port: Path, *, unit: int = 1, coils: int = 8
) -> AsyncIterator[PymodbusSlave]:
    bits = [SimData(0, values=[False] * coils, datatype=DataType.BITS)]
    words = [SimData(0, values=[0], datatype=DataType.REGISTERS)]
    device = SimDevice(id=unit, simdata=(bits, list(bits), words, list(words)))
    slave: PymodbusSlave | None = None

    def trace(sending: bool, data: bytes) -> bytes:
        if slave is not None:
            slave.packets.append((sending, bytes(data)))
        return data

    server = ModbusSerialServer(device, port=str(port), baudrate=9600, trace_packet=trace)
    slave = PymodbusSlave(server, unit, coils)
    await server.serve_forever(background=True)
    try:
        yield slave
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]


class LcusReader:
    """The board's side of an LCUS relay: reads 4-byte frames off the pty, checks them on its
    own (A0, channel, op, sum), and records what it would have switched."""

    def __init__(self, port: Path) -> None:
        self._serial = serial.serial_for_url(str(port), baudrate=9600, timeout=0.02)
        self.commands: list[tuple[int, bool]] = []
        self.rejected: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lcus-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            buffer += self._serial.read(16)
            while len(buffer) >= 4:
                frame, buffer = buffer[:4], buffer[4:]
                ok = frame[0] == 0xA0 and frame[2] in (0, 1) and sum(frame[:3]) % 256 == frame[3]
                if ok:
                    self.commands.append((frame[1], frame[2] == 1))
                else:
                    self.rejected.append(frame)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._serial.close()


def modbus_config(port: Path | str, **options: Any) -> ModbusRtuRelayConfig:
    settings: dict[str, Any] = {"channels": 8, "timeout_s": 1.0, "retries": 2, **options}
    return ModbusRtuRelayConfig(id="rack", type="modbus-rtu", port=str(port), **settings)


@asynccontextmanager
async def started(relay: ModbusRelay) -> AsyncIterator[ModbusRelay]:
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


@asynccontextmanager
async def serial_relay(kind: str, channels: int) -> AsyncIterator[RelayDevice]:
    """A started driver of `kind` (SERIAL_KINDS) with its peer on the other end of a pty."""
    with PtyPair() as pair:
        if kind == "lcus":
            reader = LcusReader(pair.a)
            usb = build_lcus(
                LcusRelayConfig(id="usb", type="lcus", port=str(pair.b), channels=channels)
            )
            await usb.start()
            try:
                yield usb
            finally:
                await usb.stop()
                reader.close()
        elif kind == "modbus":
            async with (
                pymodbus_slave(pair.a, coils=max(8, channels)),
                started(build_modbus(modbus_config(pair.b, channels=channels))) as relay,
            ):
                yield relay
        else:
            profile = kind.removeprefix("modbus-")
            board = ModbusBoardDouble(pair.a, profile=profile, channels=channels)
            board.start()
            try:
                cfg = modbus_config(pair.b, channels=channels, profile=profile)
                async with started(build_modbus(cfg)) as relay:
                    yield relay
            finally:
                board.stop()


def wait_for(predicate: Any, timeout: float) -> bool:
    """Blocking wait for threads' state (for async code use the tests' `until`)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
