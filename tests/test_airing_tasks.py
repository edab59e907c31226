"""No task of an airing outlives it (issue 9, item 1), and an orderly stop closes the record.

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
from peers.daemon import SH, StationDir
from peers.fake_station import slot, two_zone_station

from controller.airing_tasks import AiringTasks, wait_event
from controller.app import Services, build_services
from controller.config import load_config
from controller.store import SHUTDOWN_MISSED, SHUTDOWN_STOPPED
from drivers.relays.base import ChannelStatus, DeviceHealth, SwitchResult
from drivers.relays.fake import FakeRelay


class SwallowingRelay:
    """A FakeRelay whose confirmation wait swallows cancellation, as wait_for does on 3.11."""

    def __init__(self, inner: FakeRelay, confirm_s: float) -> None:
        self.inner = inner
        self.confirm_s = confirm_s
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
            await asyncio.sleep(self.confirm_s)
        except asyncio.CancelledError:
            self.swallowed += 1  # the reply "landed in the same step": the result wins
        return result

    def status(self, channel: int) -> ChannelStatus:
        return self.inner.status(channel)

    def health(self) -> DeviceHealth:
        return self.inner.health()


def write_station(tmp: Path, start: datetime, seconds: float, rearm_s: float) -> StationDir:
    return two_zone_station(tmp, [slot("午间", start, seconds)], min_join_s=1, rearm_s=rearm_s)


def swallowing(svc: Services, confirm_s: float) -> tuple[FakeRelay, SwallowingRelay]:
    fake = svc.relays["v"]
    assert isinstance(fake, FakeRelay)
    wrapper = SwallowingRelay(fake, confirm_s)
    svc.station.ctx.bank.devices["v"] = wrapper
    return fake, wrapper


async def until(moment: datetime) -> None:
    await asyncio.sleep(max((moment - datetime.now(SH)).total_seconds(), 0.0))


def test_the_rearm_loop_ends_with_its_airing_even_if_a_driver_swallows_the_cancel(
    tmp_path: Path,
) -> None:
    start = datetime.now(SH).replace(microsecond=0) + timedelta(seconds=3)
    station = write_station(tmp_path, start, 2.0, rearm_s=0.1)

    async def scenario() -> tuple[FakeRelay, SwallowingRelay, list[Any], list[Any], list[str]]:
        svc = build_services(load_config(station.root / "config.yaml"))
        fake, wrapper = swallowing(svc, confirm_s=0.15)
        await svc.start()
        await until(start + timedelta(seconds=1))
        runner = next(iter(svc.station.runners.values()))
        await until(start + timedelta(seconds=3.5))  # the airing and its postroll are over
        assert not svc.station.runners
        done = list(fake.commands)
        await asyncio.sleep(1.0)  # ten re-arm periods: a loop left alive would switch now
        after = fake.commands[len(done) :]
        alive = runner._tasks.alive
        await svc.stop()
        return fake, wrapper, done, after, alive

    _, wrapper, done, after, alive = asyncio.run(scenario())
    assert wrapper.swallowed >= 1, "the double never swallowed a cancel: the test proves nothing"
    assert alive == []
    assert after == []  # nothing touched the air once the airing was over
    last = {c.channel: c.on for c in done}
    assert last == {1: False, 2: False, 3: False}
    assert [c.on for c in done if c.channel == 3][-1] is False
    rows = {r["zone"]: r for r in station.rows()}
    assert {z: r["outcome"] for z, r in rows.items()} == {"east": "aired", "west": "aired"}


def test_an_orderly_stop_closes_the_rows_stopped_or_missed(tmp_path: Path) -> None:
    start = datetime.now(SH).replace(microsecond=0) + timedelta(seconds=3)
    station = write_station(tmp_path, start, 30.0, rearm_s=5)

    async def scenario(stop_at: datetime) -> FakeRelay:
        svc = build_services(load_config(station.root / "config.yaml"))
        await svc.start()
        await until(stop_at)
        await svc.stop()
        fake = svc.relays["v"]
        assert isinstance(fake, FakeRelay)
        return fake

    fake = asyncio.run(scenario(start + timedelta(seconds=1.5)))  # on air
    rows = station.rows()
    assert {(r["zone"], r["outcome"], r["reason"]) for r in rows} == {
        ("east", "stopped", SHUTDOWN_STOPPED), ("west", "stopped", SHUTDOWN_STOPPED),
    }  # fmt: skip
    for r in rows:
        assert r["audio_start"] and r["audio_end"] and r["relay_off"] == "confirmed", r
    assert {fake.status(ch).state for ch in (1, 2, 3)} == {"off"}


def test_a_stop_before_the_airing_began_records_it_missed_not_failed(tmp_path: Path) -> None:
    start = datetime.now(SH).replace(microsecond=0) + timedelta(seconds=3)
    station = write_station(tmp_path, start, 30.0, rearm_s=5)

    async def scenario() -> None:
        svc = build_services(load_config(station.root / "config.yaml"))
        await svc.start()
        await until(start - timedelta(seconds=0.2))  # zones on, audio not yet out
        assert svc.station.runners
        await svc.stop()

    asyncio.run(scenario())
    rows = station.rows()
    assert {(r["zone"], r["outcome"], r["reason"]) for r in rows} == {
        ("east", "missed", SHUTDOWN_MISSED), ("west", "missed", SHUTDOWN_MISSED),
    }  # fmt: skip
    assert all(r["audio_start"] is None for r in rows)


# -- the pieces, without a station ------------------------------------------------------------


def test_halt_waits_for_a_task_that_swallows_its_cancellation() -> None:
    async def scenario() -> tuple[list[str], int]:
        tasks = AiringTasks()
        steps: list[str] = []

        async def loop(stop: asyncio.Event) -> None:
            while not await wait_event(stop, 0.01):
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    steps.append("swallowed")
            steps.append("ended")

        bg = tasks.spawn(loop, "loop")
        await asyncio.sleep(0.03)
        await tasks.halt(bg)
        return steps, len(tasks.alive)

    steps, alive = asyncio.run(scenario())
    assert steps[-1] == "ended" and alive == 0


def test_halt_gives_up_on_a_task_that_never_ends_and_says_so() -> None:
    async def scenario() -> tuple[list[str], bool]:
        tasks = AiringTasks(grace_s=0.2)
        release = asyncio.Event()

        async def stubborn(stop: asyncio.Event) -> None:
            while not release.is_set():  # deaf to `stop` and to cancellation
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(0.02)

        bg = tasks.spawn(stubborn, "stubborn")
        await asyncio.sleep(0.05)  # it is in its loop
        await tasks.halt(bg)  # returns: the airing must still switch its zones off
        leaked, running = list(tasks.leaked), not bg.task.done()
        release.set()
        await bg.task
        return leaked, running

    leaked, running = asyncio.run(scenario())
    assert leaked == ["stubborn"] and running


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="gh-86296 is fixed in 3.12")
def test_wait_for_on_311_drops_a_cancel_that_lands_with_the_result_and_wait_event_does_not() -> (
    None
):
    """The trap itself, pinned: the reason the runner never relies on `wait_for`."""

    async def scenario() -> tuple[str, str]:
        loop = asyncio.get_running_loop()

        async def waiter(use_wait_for: bool, fut: asyncio.Future[None], ev: asyncio.Event) -> str:
            try:
                if use_wait_for:
                    await asyncio.wait_for(fut, 5)
                else:
                    await wait_event(ev, 5)
            except asyncio.CancelledError:
                return "cancelled"
            return "returned"

        results = []
        for use_wait_for in (True, False):
            fut: asyncio.Future[None] = loop.create_future()
            ev = asyncio.Event()
            task = asyncio.create_task(waiter(use_wait_for, fut, ev))
            await asyncio.sleep(0.01)  # the task is waiting
            fut.set_result(None)  # the reply lands…
            ev.set()
            task.cancel()  # …in the same step as the cancellation
            results.append(await task)
        return results[0], results[1]

    with_wait_for, with_wait_event = asyncio.run(scenario())
    assert with_wait_for == "returned"  # cancellation lost: the 3.11 bug
    assert with_wait_event == "cancelled"
