"""What the station does at a given moment: start, join, or record a miss (pure table)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from controller.planning.due import MISSED_WHILE_RUNNING, Timing, due_actions
from controller.planning.planner import Airing, ZonePlan

SH = ZoneInfo("Asia/Shanghai")
T = datetime(2027, 6, 1, 12, 0, tzinfo=SH)
TIMING = Timing(preroll_s=5, chain_settle_s=2, min_join_s=60, wake_margin_s=2)  # lead 9 s


def airing(zones: tuple[ZonePlan, ...] | None = None) -> Airing:
    end = T + timedelta(minutes=30)
    zones = zones or (ZonePlan("east", "scheduled", end),)
    return Airing("a1", "午间", T, end, "p", zones)


@pytest.mark.parametrize(
    ("offset_s", "expected"),
    [
        (-10, []),  # before the wake-up
        (-9, ["start"]),  # exactly the lead: T - preroll - settle - margin
        (-1, ["start"]),
        (0, ["join"]),  # the start instant has passed: audio can only join
        (600, ["join"]),
        (1800 - 60, ["join"]),  # exactly min_join_s left
        (1800 - 59, ["missed"]),
        (1799, ["missed"]),
    ],
)
def test_start_join_or_miss(offset_s: float, expected: list[str]) -> None:
    now = T + timedelta(seconds=offset_s)
    assert [a.kind for a in due_actions([airing()], now, TIMING, set(), None)] == expected


def test_handled_airings_are_left_alone() -> None:
    assert due_actions([airing()], T + timedelta(seconds=30), TIMING, {"a1"}, None) == []


def test_over_airing_is_missed_only_if_the_station_was_meant_to_be_watching() -> None:
    now = T + timedelta(hours=2)
    assert due_actions([airing()], now, TIMING, set(), None) == []  # first start ever
    assert due_actions([airing()], now, TIMING, set(), T + timedelta(minutes=1)) == []
    (action,) = due_actions([airing()], now, TIMING, set(), T - timedelta(hours=1))
    assert action.kind == "missed" and "not running" in action.reason


def test_an_airing_missed_while_running_does_not_blame_a_dead_daemon() -> None:
    """After a wall-clock step the station may never have woken for an airing: the record must
    not claim the daemon was down (issue 9: a false reason after a clock step)."""
    now = T + timedelta(hours=2)
    since = T - timedelta(hours=1)  # this process has been running since then
    (action,) = due_actions([airing()], now, TIMING, set(), since, MISSED_WHILE_RUNNING)
    assert action.kind == "missed" and action.reason == MISSED_WHILE_RUNNING
    assert "not running" not in action.reason


def test_join_uses_audio_end_of_a_cut_airing() -> None:
    cut = airing((ZonePlan("east", "cut", T + timedelta(minutes=1)),))
    # 40 s left before the blackout cuts it: less than min_join_s → missed
    (action,) = due_actions([cut], T + timedelta(seconds=20), TIMING, set(), None)
    assert action.kind == "missed"


def test_fully_blacked_out_airing_is_started_to_be_recorded() -> None:
    dark = airing((ZonePlan("east", "blackout", T, "高考"),))
    (action,) = due_actions([dark], T + timedelta(minutes=5), TIMING, set(), None)
    assert action.kind == "start"
