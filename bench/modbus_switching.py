"""Switching 8 zones on one Modbus board: one FC0F frame against eight FC05 writes, at 9600 baud.

Runs pymodbus's RTU server on one end of a socat pty pair and our serial bus / driver on the
other; prints wall-time medians over --reps repetitions and the line time the same frames take
on a real 9600-baud RS-485 line. A pty does not pace bytes at the baud rate, so the wall times
measure software (Python, worker threads, pymodbus, the t3.5 silence the bus keeps before each
request), not the wire: use the computed line time for budgets.
Usage: .venv/bin/python bench/modbus_switching.py [--reps 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.pty import PtyPair
from peers.serial_rigs import PymodbusSlave, modbus_config, pymodbus_slave

from drivers.protocols.modbus import (
    COIL_OFF,
    COIL_ON,
    ReplyEvent,
    ReplyParser,
    Request,
    line_time_s,
    read_coils,
    silent_interval_s,
    write_coil,
    write_coils,
)
from drivers.relays.modbus import build_modbus
from drivers.transports.serial import SerialBus, SerialBuses

BAUD = 9600
ZONES = 8


def exchange_line_s(request: Request) -> float:
    """Request and reply on the wire (8N1: 10 bits a byte), each followed by t3.5 of silence.
    The board's own turnaround is not included: it is board-specific."""
    wire = line_time_s(len(request.frame) + request.reply_length, BAUD)
    return wire + 2 * silent_interval_s(BAUD)


async def frame(bus: SerialBus, request: Request) -> ReplyEvent:
    parser = ReplyParser(request)

    def take(data: bytes) -> ReplyEvent | None:
        parser.feed(data)
        return parser.next_event()

    reply: ReplyEvent = await bus.request(request.frame, take, 1.0)
    return reply


async def timed(
    reps: int, operation: Callable[[bool], Awaitable[object]], slave: PymodbusSlave
) -> list[float]:
    """Wall time of `operation(on)` alternating ON/OFF; the slave's datastore checked after."""
    times = []
    for i in range(reps):
        on = i % 2 == 0
        started = time.perf_counter()
        await operation(on)
        times.append(time.perf_counter() - started)
        if await slave.coils() != [on] * ZONES:
            raise RuntimeError(f"pymodbus datastore does not show all {ZONES} coils {on}")
    return times


def row(label: str, times: list[float], line_s: float, frames: int) -> str:
    median = statistics.median(times) * 1000
    p90 = statistics.quantiles(times, n=10)[-1] * 1000
    return (
        f"{label:<44} {frames:>6} {median:>9.2f} {p90:>9.2f} {min(times) * 1000:>9.2f}"
        f" {line_s * 1000:>11.2f}"
    )


async def run(reps: int) -> None:
    with PtyPair() as pair:
        async with pymodbus_slave(pair.a, coils=ZONES) as slave:
            buses = SerialBuses()
            bus = buses.get(str(pair.b), BAUD, gap_s=silent_interval_s(BAUD))
            relay = build_modbus(modbus_config(pair.b, channels=ZONES), buses=buses)
            await relay.start()
            try:

                async def one_fc0f(on: bool) -> None:
                    await frame(bus, write_coils(1, 0, [on] * ZONES))

                async def eight_fc05(on: bool) -> None:
                    for address in range(ZONES):
                        await frame(bus, write_coil(1, address, COIL_ON if on else COIL_OFF))

                async def driver_many(on: bool) -> None:
                    await relay.switch_many(range(1, ZONES + 1), on)

                async def driver_single(on: bool) -> None:
                    for channel in range(1, ZONES + 1):
                        await relay.switch(channel, on)

                fc0f = exchange_line_s(write_coils(1, 0, [True] * ZONES))
                fc05 = exchange_line_s(write_coil(1, 0, COIL_ON))
                fc01 = exchange_line_s(read_coils(1, 0, ZONES))
                cases = [
                    ("frames: one FC0F (8 coils)", one_fc0f, fc0f, 1),
                    ("frames: eight FC05", eight_fc05, ZONES * fc05, ZONES),
                    ("driver: switch_many (FC0F + FC01 read-back)", driver_many, fc0f + fc01, 2),
                    (
                        "driver: 8 x switch (FC05 + FC01 each)",
                        driver_single,
                        ZONES * (fc05 + fc01),
                        16,
                    ),
                ]
                print(f"Switching {ZONES} zones on one board, {BAUD} baud 8N1, {reps} repetitions")
                print(
                    f"t3.5 = {silent_interval_s(BAUD) * 1000:.2f} ms (3.5 x 11-bit chars); "
                    f"a byte = {line_time_s(1, BAUD) * 1000:.3f} ms"
                )
                print(
                    f"{'':<44} {'frames':>6} {'median':>9} {'p90':>9} {'min':>9} {'line time':>11}"
                )
                print(
                    f"{'':<44} {'':>6} {'ms (pty)':>9} {'ms (pty)':>9} {'ms (pty)':>9} {'ms':>11}"
                )
                for label, operation, line_s, frames in cases:
                    await operation(False)  # warm-up, and a known starting state
                    print(row(label, await timed(reps, operation, slave), line_s, frames))
            finally:
                await relay.stop()
    print(
        "NOTE: a pty does not pace bytes at the baud rate, so the pty wall times are software\n"
        "overhead plus the t3.5 silence the bus keeps before each request; the line time is\n"
        "what the same frames take on a real 9600-baud line, before the board's turnaround."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=30, help="repetitions per case (>= 20)")
    args = parser.parse_args()
    if args.reps < 20:
        parser.error("--reps must be at least 20")
    asyncio.run(run(args.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
