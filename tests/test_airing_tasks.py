"""No task of an airing outlives it (issue 9, item 1), and an orderly stop closes the record.
The station runs in-process on the virtual clock (tests/clocks.py).

On Python 3.11 `asyncio.wait_for` returns the result and drops an outer cancellation when the
awaited future completes in the same loop step (CPython gh-86296). The relay double below
does the worst a driver could: it swallows every cancellation that reaches its confirmation
wait. The airing must still end its re-arm loop before the chain's OFF and send nothing after.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clocks import VirtualClock, run_on
from peers.daemon import SH, StationDir
from peers.fake_station import slot, two_zone_station

from controller.config import load_config
from controller.core.clock import SystemClock, WaitingClock
from controller.engine.parts import EngineParts, build_engine
from controller.records.asrun_store import SHUTDOWN_MISSED, SHUTDOWN_STOPPED
from controller.station.airing_tasks import AiringTasks
from drivers.relays.base import ChannelStatus, DeviceHealth, PowerMeter, SwitchResult
from drivers.relays.fake import FakeRelay


class SwallowingRelay:
    """A FakeRelay whose confirmation wait swallows cancellation, as wait_for does on 3.11."""

    def __init__(self, inner: FakeRelay, confirm_s: float, clock: VirtualClock) -> None:
        self.inner = inner
        self.confirm_s = confirm_s
        self.clock = clock
        self.swallowed = 0

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def channels(self) -> int:
        return self.inner.channels

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def switch(
        self, channel: int, on: bool, *, deadman_s: float | None = None
    ) -> SwitchResult:
        result = await self.inner.switch(channel, on, deadman_s=deadman_s)
        try:
            await self.clock.sleep(self.confirm_s)
        except asyncio.CancelledError:
            self.swallowed += 1  # the reply "landed in the same step": the result wins
        return result

    def status(self, channel: int) -> ChannelStatus:
        return self.inner.status(channel)

    def health(self) -> DeviceHealth:
        return self.inner.health()

    def power_meter(self) -> PowerMeter | None:
        return self.inner.power_meter()


def write_station(tmp: Path, start: datetime, seconds: float, rearm_s: float) -> StationDir:
    return two_zone_station(tmp, [slot("午间", start, seconds)], min_join_s=1, rearm_s=rearm_s)


def swallowing(
    svc: EngineParts, confirm_s: float, clock: VirtualClock
) -> tuple[FakeRelay, SwallowingRelay]:
    fake = svc.relays["v"]
    assert isinstance(fake, FakeRelay)
    wrapper = SwallowingRelay(fake, confirm_s, clock)
    svc.station.ctx.bank.devices["v"] = wrapper
    return fake, wrapper


def soon(clock: VirtualClock, seconds: float) -> datetime:
    """A start `seconds` ahead, in station time, on a whole second."""
    return (clock.now().astimezone(SH) + timedelta(seconds=seconds)).replace(microsecond=0)


def test_the_rearm_loop_ends_with_its_airing_even_if_a_driver_swallows_the_cancel(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    start = soon(clock, 3)
    station = write_station(tmp_path, start, 2.0, rearm_s=0.1)

    async def scenario() -> tuple[FakeRelay, SwallowingRelay, list[Any], list[Any], list[str]]:
        svc = build_engine(load_config(station.root / "config.yaml"), clock=clock)
        # On virtual time the timeline is exact: with 0.13 s per reply the airing ends (t+2 s)
        # while the re-arm loop waits for a reply, so the cancel reaches the double.
        fake, wrapper = swallowing(svc, confirm_s=0.13, clock=clock)
        await svc.start()
        await clock.wait_wall(start + timedelta(seconds=1))
        runner = next(iter(svc.station.runners.values()))
        await clock.wait_wall(start + timedelta(seconds=3.5))  # the airing and postroll are over
        assert not svc.station.runners
        done = list(fake.commands)
        await clock.sleep(1.0)  # ten re-arm periods: a loop left alive would switch now
        after = fake.commands[len(done) :]
        alive = runner._tasks.alive
        await svc.stop()
        return fake, wrapper, done, after, alive

    _, wrapper, done, after, alive = clock.run(scenario())
    assert wrapper.swallowed >= 1, "the double never swallowed a cancel: the test proves nothing"
    assert alive == []
    assert after == []  # nothing touched the air once the airing was over
    last = {c.channel: c.on for c in done}
    assert last == {1: False, 2: False, 3: False}
    assert [c.on for c in done if c.channel == 3][-1] is False
    rows = {r["zone"]: r for r in station.rows()}
    assert {z: r["outcome"] for z, r in rows.items()} == {"east": "aired", "west": "aired"}


def test_an_orderly_stop_closes_the_rows_stopped_or_missed(tmp_path: Path) -> None:
    clock = VirtualClock()
    start = soon(clock, 3)
    station = write_station(tmp_path, start, 30.0, rearm_s=5)

    async def scenario(stop_at: datetime) -> FakeRelay:
        svc = build_engine(load_config(station.root / "config.yaml"), clock=clock)
        await svc.start()
        await clock.wait_wall(stop_at)
        await svc.stop()
        fake = svc.relays["v"]
        assert isinstance(fake, FakeRelay)
        return fake

    fake = clock.run(scenario(start + timedelta(seconds=1.5)))  # on air
    rows = station.rows()
    assert {(r["zone"], r["outcome"], r["reason"]) for r in rows} == {
        ("east", "stopped", SHUTDOWN_STOPPED), ("west", "stopped", SHUTDOWN_STOPPED),
    }  # fmt: skip
    for r in rows:
        assert r["audio_start"] and r["audio_end"] and r["relay_off"] == "confirmed", r
    assert {fake.status(ch).state for ch in (1, 2, 3)} == {"off"}


def test_a_stop_before_the_airing_began_records_it_missed_not_failed(tmp_path: Path) -> None:
    clock = VirtualClock()
    start = soon(clock, 3)
    station = write_station(tmp_path, start, 30.0, rearm_s=5)

    async def scenario() -> None:
        svc = build_engine(load_config(station.root / "config.yaml"), clock=clock)
        await svc.start()
        await clock.wait_wall(start - timedelta(seconds=0.2))  # zones on, audio not yet out
        assert svc.station.runners
        await svc.stop()

    clock.run(scenario())
    rows = station.rows()
    assert {(r["zone"], r["outcome"], r["reason"]) for r in rows} == {
        ("east", "missed", SHUTDOWN_MISSED), ("west", "missed", SHUTDOWN_MISSED),
    }  # fmt: skip
    assert all(r["audio_start"] is None for r in rows)


# -- the pieces, without a station, on either clock -------------------------------------------


@pytest.fixture(params=["virtual", "system"])
def clock(request: pytest.FixtureRequest) -> WaitingClock:
    return VirtualClock() if request.param == "virtual" else SystemClock()


def test_halt_waits_for_a_task_that_swallows_its_cancellation(clock: WaitingClock) -> None:
    async def scenario() -> tuple[list[str], int]:
        tasks = AiringTasks(clock)
        steps: list[str] = []

        async def loop(stop: asyncio.Event) -> None:
            while not await clock.wait_event(stop, 0.01):
                try:
                    await clock.sleep(0.05)
                except asyncio.CancelledError:
                    steps.append("swallowed")
            steps.append("ended")

        bg = tasks.spawn(loop, "loop")
        await clock.sleep(0.03)
        await tasks.halt(bg)
        return steps, len(tasks.alive)

    steps, alive = run_on(clock, scenario())
    assert steps[-1] == "ended" and alive == 0


def test_halt_gives_up_on_a_task_that_never_ends_and_says_so(clock: WaitingClock) -> None:
    async def scenario() -> tuple[list[str], bool]:
        tasks = AiringTasks(clock, grace_s=0.2)
        release = asyncio.Event()

        async def stubborn(stop: asyncio.Event) -> None:
            while not release.is_set():  # deaf to `stop` and to cancellation
                with contextlib.suppress(asyncio.CancelledError):
                    await clock.sleep(0.02)

        bg = tasks.spawn(stubborn, "stubborn")
        await clock.sleep(0.05)  # it is in its loop
        await tasks.halt(bg)  # returns: the airing must still switch its zones off
        leaked, running = list(tasks.leaked), not bg.task.done()
        release.set()
        await bg.task
        return leaked, running

    leaked, running = run_on(clock, scenario())
    assert leaked == ["stubborn"] and running


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="gh-86296 is fixed in 3.12")
def test_wait_for_on_311_drops_a_cancel_that_lands_with_the_result_and_wait_event_does_not(
    clock: WaitingClock,
) -> None:
    """The trap itself, pinned: the reason no wait of an airing relies on `wait_for` (the
    clock's `wait_event`, real or virtual, passes the cancellation on)."""

    async def scenario() -> tuple[str, str]:
        loop = asyncio.get_running_loop()

        async def waiter(use_wait_for: bool, fut: asyncio.Future[None], ev: asyncio.Event) -> str:
            try:
                if use_wait_for:
                    await asyncio.wait_for(fut, 5)
                else:
                    await clock.wait_event(ev, 5)
            except asyncio.CancelledError:
                return "cancelled"
            return "returned"

        results = []
        for use_wait_for in (True, False):
            fut: asyncio.Future[None] = loop.create_future()
            ev = asyncio.Event()
            task = asyncio.create_task(waiter(use_wait_for, fut, ev))
            for _ in range(3):
                await asyncio.sleep(0)  # the task is waiting
            fut.set_result(None)  # the reply lands…
            ev.set()
            task.cancel()  # …in the same step as the cancellation
            results.append(await task)
        return results[0], results[1]

    with_wait_for, with_wait_event = run_on(clock, scenario())
    assert with_wait_for == "returned"  # cancellation lost: the 3.11 bug
    assert with_wait_event == "cancelled"
