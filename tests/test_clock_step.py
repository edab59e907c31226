"""Wall-clock steps: the pure detector on a fake clock; the waker (wake-ups at wall times, the
watchdog tick, re-planning on a step) on the virtual clock."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from clocks import VirtualClock

from controller.core.clock import ClockStep, ClockStepWatch, mono_to_wall, wall_at
from controller.station.waker import Waker

T0 = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


class SteppingClock:
    """Wall and monotonic time that advance together, except when the wall clock is stepped."""

    def __init__(self) -> None:
        self.wall, self.mono = T0, 1000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float, drift_ppm: float = 0.0) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds * (1 + drift_ppm / 1e6))

    def step(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)


def test_steady_clocks_are_not_a_step() -> None:
    clock = SteppingClock()
    watch = ClockStepWatch(clock)
    for _ in range(100):
        clock.advance(1.0)
        assert watch.poll() is None


def test_ntp_slewing_at_its_fastest_is_not_a_step() -> None:
    clock = SteppingClock()
    watch = ClockStepWatch(clock, threshold_s=1.0)
    for _ in range(60):
        clock.advance(30.0, drift_ppm=500)  # ntpd's maximum slew, polled every 30 s
        assert watch.poll() is None


@pytest.mark.parametrize("size", [8.0, -8.0, 90.0, -90.0, 1.5])
def test_a_step_is_seen_with_its_size_once(size: float) -> None:
    clock = SteppingClock()
    watch = ClockStepWatch(clock)
    clock.advance(0.7)
    clock.step(size)
    clock.advance(0.3)
    step = watch.poll()
    assert step is not None
    assert step.step_s == pytest.approx(size)
    assert step.wall_before == T0  # the last reading before it
    assert step.wall_after == clock.now() and step.mono == clock.monotonic()
    clock.advance(1.0)
    assert watch.poll() is None  # the baseline moved on with the step


def test_a_step_below_the_threshold_is_ignored() -> None:
    clock = SteppingClock()
    watch = ClockStepWatch(clock, threshold_s=1.0)
    clock.step(0.9)
    clock.advance(1.0)
    assert watch.poll() is None


def test_a_long_gap_between_polls_still_measures_the_step() -> None:
    clock = SteppingClock()
    watch = ClockStepWatch(clock)
    clock.advance(3600.0)  # the loop was busy; both clocks moved on together
    clock.step(-2.0)
    step = watch.poll()
    assert step is not None and step.step_s == pytest.approx(-2.0)


def test_the_waker_says_nothing_per_wake_up(caplog: pytest.LogCaptureFixture) -> None:
    """A daemon plans its wake-ups afresh every 30 s for months: no line per wake-up."""
    clock = VirtualClock(T0)
    woken: list[float] = []

    async def job() -> None:
        woken.append(clock.monotonic())

    async def scenario() -> None:
        waker = Waker(ZoneInfo("Asia/Shanghai"), clock=clock, step_poll_s=3600)
        waker.start()
        for n in range(20):
            waker.at(T0 + timedelta(seconds=1 + n % 3), f"slot-{n}", job)
        await clock.sleep(5)
        waker.shutdown()

    with caplog.at_level(logging.DEBUG):
        clock.run(scenario())
    assert len(woken) == 20
    mine = [r for r in caplog.records if r.name.startswith("controller")]
    assert [r.getMessage() for r in mine if r.levelno <= logging.INFO] == []


def test_a_wake_up_comes_at_its_wall_time_once() -> None:
    clock = VirtualClock(T0)
    woken: list[tuple[str, datetime]] = []

    def job(key: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            woken.append((key, clock.now()))

        return run

    async def scenario() -> list[tuple[str, datetime | None]]:
        waker = Waker(ZoneInfo("Asia/Shanghai"), clock=clock, step_poll_s=3600)
        waker.at(T0 + timedelta(seconds=9), "later", job("later"))  # planned before the start
        waker.start()
        waker.at(T0 + timedelta(seconds=4), "soon", job("replaced"))
        waker.at(T0 + timedelta(seconds=4), "soon", job("soon"))  # the same key replaces it
        waker.at(T0 - timedelta(seconds=1), "late", job("late"))  # overdue: runs at once
        await clock.sleep(1)
        pending = waker.pending()
        await clock.sleep(20)
        waker.shutdown()
        return pending

    pending = clock.run(scenario())
    assert woken == [
        ("late", T0), ("soon", T0 + timedelta(seconds=4)), ("later", T0 + timedelta(seconds=9)),
    ]  # fmt: skip
    assert pending == [
        ("wake:later", T0 + timedelta(seconds=9)), ("wake:soon", T0 + timedelta(seconds=4)),
    ]  # fmt: skip


def test_a_step_re_plans_at_once() -> None:
    clock = VirtualClock(T0)
    ticks: list[float] = []
    woken: list[float] = []
    heard: list[ClockStep] = []
    awaited: list[float] = []

    async def reconcile() -> None:
        ticks.append(clock.monotonic())

    async def wake() -> None:
        woken.append(clock.monotonic())

    async def async_hook(step: ClockStep) -> None:
        awaited.append(step.step_s)

    async def scenario() -> tuple[Waker, ClockStep | None]:
        waker = Waker(ZoneInfo("Asia/Shanghai"), clock=clock, step_poll_s=3600)
        waker.every(30.0, reconcile)
        waker.on_clock_step(heard.append)
        waker.on_clock_step(async_hook)
        waker.at(T0 + timedelta(seconds=5), "slot", wake)
        waker.start()
        await clock.sleep(0.5)
        assert waker.check_clock() is None
        await clock.sleep(0.01)
        assert ticks == [] and heard == [] and woken == []
        clock.step(8.0)  # the wall clock is past the wake-up's time now
        step = waker.check_clock()
        await clock.sleep(0.01)
        waker.shutdown()
        return waker, step

    waker, step = clock.run(scenario())
    assert step is not None
    assert ticks == [step.mono]  # the watchdog re-planned without waiting 30 s
    assert woken == [step.mono]  # the wake-up measured its wait again: not 4.5 s late
    assert [s.step_s for s in heard] == [pytest.approx(8.0)]
    assert awaited == [pytest.approx(8.0)]
    assert [s.step_s for s in waker.steps] == [pytest.approx(8.0)]


def test_a_failing_hook_does_not_silence_the_others() -> None:
    clock = VirtualClock(T0)
    heard: list[float] = []

    def broken(step: ClockStep) -> None:
        raise RuntimeError("bug")

    async def scenario() -> None:
        waker = Waker(ZoneInfo("Asia/Shanghai"), clock=clock, step_poll_s=3600)
        waker.on_clock_step(broken)
        waker.on_clock_step(lambda step: heard.append(step.step_s))
        waker.start()
        clock.step(-90.0)
        waker.check_clock()
        waker.shutdown()

    clock.run(scenario())
    assert heard == [pytest.approx(-90.0)]


def test_the_watchdog_ticks_on_the_monotonic_clock_without_overlap() -> None:
    clock = VirtualClock(T0)
    started: list[float] = []

    async def slow() -> None:
        started.append(clock.monotonic())
        await clock.sleep(0.12)  # longer than the tick: the next tick is skipped

    async def scenario() -> None:
        waker = Waker(ZoneInfo("Asia/Shanghai"), clock=clock, step_poll_s=0.02)
        waker.every(0.05, slow)
        waker.start()
        clock.step(-90.0)  # the wall clock going back holds nothing off
        await clock.sleep(0.42)
        waker.shutdown()
        await clock.sleep(0.15)

    clock.run(scenario())
    gaps = [b - a for a, b in itertools.pairwise(started)]
    assert 2 <= len(started) <= 4
    assert all(gap >= 0.12 for gap in gaps)


def test_the_poll_sees_a_real_step_of_the_injected_clock() -> None:
    clock = VirtualClock(T0)
    heard: list[float] = []

    async def scenario() -> None:
        waker = Waker(ZoneInfo("Asia/Shanghai"), clock=clock, step_poll_s=0.01)
        waker.on_clock_step(lambda step: heard.append(step.step_s))
        waker.start()
        await clock.sleep(0.03)
        clock.step(90.0)
        await clock.sleep(0.05)
        waker.shutdown()

    clock.run(scenario())
    assert heard == [pytest.approx(90.0)]


def test_wall_at_uses_a_reading_no_preemption_split() -> None:
    class Preempted(SteppingClock):
        """The thread loses the CPU for 0.2 s right after its first wall read."""

        slow = 1

        def now(self) -> datetime:
            wall = self.wall
            if self.slow:
                self.slow -= 1
                self.advance(0.2)
            return wall

    naive = Preempted()
    assert mono_to_wall(naive, 999.0) == T0 - timedelta(seconds=1.2)  # skewed by the 0.2 s
    clock = Preempted()
    assert wall_at(clock, 999.0) == T0 - timedelta(seconds=1.0)
