"""The slogan rotator against a recording screen, on the virtual clock: order, dwell,
preemption, on-hours, faults."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from clocks import VirtualClock

from controller.config.slogans import SloganEntry
from controller.screens.rotator import SloganRotator, in_on_hours
from drivers.displays.base import Charset, Color, DisplayError, DisplayHealth
from drivers.settings.devices import FakeDisplayConfig, OnHours

SH = ZoneInfo("Asia/Shanghai")


class RecordingScreen:
    """Implements the Display contract in memory and records every call."""

    def __init__(self, display_id: str, fail: bool = False) -> None:
        self._id = display_id
        self.fail = fail
        self.shown: list[str] = []
        self.power_calls: list[bool] = []

    @property
    def id(self) -> str:
        return self._id

    @property
    def charset(self) -> Charset:
        return "gb2312"

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def show(self, text: str, *, color: Color | None = None, hold_s: float = 10.0) -> None:
        if self.fail:
            raise DisplayError("屏幕无应答 / no answer")
        if "堃" in text:  # a driver refusing a character it cannot encode
            raise ValueError("无法显示 '堃' / cannot show '堃'")
        self.shown.append(text)

    async def clear(self) -> None:
        self.shown.append("")

    async def power(self, on: bool) -> None:
        self.power_calls.append(on)

    async def ping(self) -> bool:
        return not self.fail

    def health(self) -> DisplayHealth:
        return DisplayHealth(
            not self.fail, None, None, self.shown[-1] if self.shown else None, None
        )


def rotator(
    screens: list[RecordingScreen],
    slogans: list[str],
    on_hours: OnHours | None = None,
    clock: VirtualClock | None = None,
) -> SloganRotator:
    configs = [FakeDisplayConfig(id=s.id, type="fake", on_hours=on_hours) for s in screens]
    entries = [SloganEntry(text=t) for t in slogans]
    return SloganRotator(
        {s.id: s for s in screens}, configs, entries, 0.1, clock or VirtualClock(), SH
    )


def clock_of(r: SloganRotator) -> VirtualClock:
    assert isinstance(r.clock, VirtualClock)
    return r.clock


def run(
    r: SloganRotator, seconds: float, during: Callable[[], Awaitable[None]] | None = None
) -> None:
    clock = clock_of(r)

    async def scenario() -> None:
        await r.start()
        if during is not None:
            await during()
        await clock.sleep(seconds)
        await r.stop()

    clock.run(scenario())


def test_each_screen_cycles_through_the_slogans_in_order() -> None:
    a, b = RecordingScreen("a"), RecordingScreen("b")
    r = rotator([a, b], ["一", "二", "三"])
    run(r, 0.55)
    for screen in (a, b):
        assert screen.shown[:4] == ["一", "二", "三", "一"]
    assert {s["mode"] for s in r.status()} == {"rotation"}


def test_a_message_preempts_the_rotation_then_it_resumes() -> None:
    a, b = RecordingScreen("a"), RecordingScreen("b")
    r = rotator([a, b], ["一", "二"])

    async def push() -> None:
        await clock_of(r).sleep(0.15)
        r.push_message("紧急提醒：冒充公检法诈骗高发", ["a"], minutes=0.4 / 60, by="police1")

    run(r, 0.9, push)
    assert "紧急提醒：冒充公检法诈骗高发" in a.shown
    assert "紧急提醒：冒充公检法诈骗高发" not in b.shown
    after = a.shown[a.shown.index("紧急提醒：冒充公检法诈骗高发") :]
    assert after[-1] in ("一", "二")  # back to the rotation once the message expired


def test_bad_messages_change_nothing() -> None:
    r = rotator([RecordingScreen("a")], ["一"])
    with pytest.raises(ValueError, match="U\\+1F6A8"):
        r.push_message("注意🚨", None, 5, "police1")
    with pytest.raises(ValueError, match="no display 'x'"):
        r.push_message("注意", ["x"], 5, "police1")
    assert r.messages == []


def test_outside_on_hours_the_screen_is_forced_off() -> None:
    clock = VirtualClock()
    now = clock.now().astimezone(SH)
    hours = OnHours(on=(now + timedelta(hours=2)).time(), off=(now + timedelta(hours=3)).time())
    a = RecordingScreen("a")
    r = rotator([a], ["一"], on_hours=hours, clock=clock)
    run(r, 0.2)
    assert a.power_calls == [False] and a.shown == []
    assert r.status()[0]["mode"] == "off"


def test_on_hours_across_midnight() -> None:
    night_off = OnHours(on=time(6, 0), off=time(22, 30))
    assert in_on_hours(night_off, time(12, 0)) and not in_on_hours(night_off, time(23, 0))
    across = OnHours(on=time(18, 0), off=time(2, 0))
    assert in_on_hours(across, time(23, 0)) and in_on_hours(across, time(1, 0))
    assert not in_on_hours(across, time(12, 0))


def test_expired_slogans_are_skipped_and_a_dead_screen_is_reported() -> None:
    clock = VirtualClock()
    past = clock.now().astimezone(SH) - timedelta(days=1)
    a, dead = RecordingScreen("a"), RecordingScreen("dead", fail=True)
    r = SloganRotator(
        {"a": a, "dead": dead},
        [FakeDisplayConfig(id="a", type="fake"), FakeDisplayConfig(id="dead", type="fake")],
        [SloganEntry(text="旧", valid_until=past), SloganEntry(text="新")],
        0.1,
        clock,
        SH,
    )
    run(r, 0.3)
    assert set(a.shown) == {"新"}
    dead_status = next(s for s in r.status() if s["id"] == "dead")
    assert dead_status["mode"] == "error" and "no answer" in str(dead_status["last_error"])


def test_a_text_the_screen_refuses_does_not_stop_the_rotation() -> None:
    a = RecordingScreen("a")
    r = rotator([a], ["王堃提醒", "二"])
    run(r, 0.45)
    assert a.shown.count("二") >= 2  # the rotation went on past the refused slogan


def test_the_ladder_on_screens_an_emergency_over_a_police_warning_then_back() -> None:
    a, b = RecordingScreen("a"), RecordingScreen("b")
    r = rotator([a, b], ["一"])
    seen: dict[str, list[str | None]] = {"a": [], "b": []}

    def look() -> None:
        for screen in r.status():
            seen[str(screen["id"])].append(screen["text"])  # type: ignore[arg-type]

    clock = clock_of(r)

    async def ladder() -> None:
        await clock.sleep(0.15)
        r.push_message("警方提醒", None, minutes=1, by="police1", priority=80)
        await clock.sleep(0.15)
        look()
        r.push_message("紧急通知", ["a"], minutes=1, by="duty", priority=100, key="ov1")
        await clock.sleep(0.15)
        look()
        r.push_message("新的警方提醒", None, minutes=1, by="police1", priority=80)
        await clock.sleep(0.15)
        look()  # a lower message does not replace the emergency
        assert r.withdraw("ov1") == 1
        await clock.sleep(0.15)
        look()

    run(r, 0.05, ladder)
    assert seen["a"] == ["警方提醒", "紧急通知", "紧急通知", "新的警方提醒"]
    assert seen["b"] == ["警方提醒", "警方提醒", "新的警方提醒", "新的警方提醒"]


def test_a_message_for_a_later_airing_shows_at_its_start() -> None:
    a = RecordingScreen("a")
    r = rotator(
        [a],
        ["一"],
    )
    r.dwell_s = 5.0  # the rotation alone would not look again for 5 s
    clock = clock_of(r)
    shown_at: list[float] = []

    async def later() -> None:
        await clock.sleep(0.1)
        since = clock.now() + timedelta(seconds=0.4)
        r.push_message("插播预告", None, minutes=1, by="duty", since=since)
        assert r.active_message("a", clock.now()) is None
        began = clock.monotonic()
        while "插播预告" not in a.shown and clock.monotonic() - began < 3:
            await clock.sleep(0.02)
        shown_at.append(clock.monotonic() - began)

    run(r, 0.05, later)
    assert "插播预告" in a.shown
    assert 0.3 <= shown_at[0] <= 1.5  # at its start, not at the next 5 s dwell
