"""The priority ladder as a pure decision, and blackout thresholds in the planner (tables)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from controller.planning.ladder import arbitrate, handover
from controller.planning.planner import Airing, Blackout, ZonePlan, plan_zone

SH = ZoneInfo("Asia/Shanghai")
T = datetime(2027, 6, 1, 7, 0, tzinfo=SH)


def airing(
    name: str, priority: int, zones: str, start_min: float = 0, minutes: float = 30
) -> Airing:
    start = T + timedelta(minutes=start_min)
    end = start + timedelta(minutes=minutes)
    plans = tuple(ZonePlan(z, "scheduled", end) for z in zones.split(","))
    source = {50: "schedule", 100: "emergency"}.get(priority, "manual")
    return Airing(name, name, start, end, "p", plans, priority, source)  # type: ignore[arg-type]


SLOT = airing("slot", 50, "east,west")
MANUAL = airing("manual", 70, "west", 5, 10)
POLICE = airing("police", 80, "east", 6, 5)
EMERGENCY = airing("emergency", 100, "east", 10, 2)
NEXT_SLOT = airing("next", 50, "east,west", 30)


@pytest.mark.parametrize(
    ("holder", "wanting", "start", "preempt", "waiting"),
    [
        (None, [], None, None, []),
        (None, [SLOT], "slot", None, []),
        (SLOT, [EMERGENCY], "emergency", "slot", []),  # higher takes the air
        (EMERGENCY, [SLOT], None, None, ["slot"]),  # lower waits (resumes later)
        (SLOT, [MANUAL, EMERGENCY, POLICE], "emergency", "slot", ["police", "manual"]),
        (MANUAL, [airing("manual2", 70, "east", 6)], None, None, ["manual2"]),  # equal waits
        (POLICE, [MANUAL], None, None, ["manual"]),
        (SLOT, [NEXT_SLOT], "next", None, []),  # after the holder's end: no conflict
        (SLOT, [SLOT], None, None, []),  # the holder itself
        (None, [MANUAL, POLICE], "police", None, ["manual"]),
    ],
)
def test_the_highest_priority_has_the_air(
    holder: Airing | None, wanting: list[Airing], start: str | None, preempt: str | None,
    waiting: list[str],
) -> None:  # fmt: skip
    d = arbitrate(holder, wanting)
    assert (d.start.id if d.start else None) == start
    assert (d.preempt.id if d.preempt else None) == preempt
    assert [a.id for a in d.waiting] == waiting


@pytest.mark.parametrize(
    ("next_airing", "on_air", "kept"),
    [
        (EMERGENCY, ["east", "west"], {"east"}),  # west goes quiet, east is taken over
        (SLOT, ["east"], {"east"}),  # the slot resumes on east (west was off)
        (MANUAL, ["east"], set()),
        (None, ["east", "west"], set()),
    ],
)
def test_zones_handed_over(next_airing: Airing | None, on_air: list[str], kept: set[str]) -> None:
    assert handover(next_airing, on_air) == kept


def window(threshold: int) -> Blackout:
    return Blackout("高考", T - timedelta(hours=1), T + timedelta(hours=8), None, "", threshold)


@pytest.mark.parametrize(
    ("threshold", "priority", "status"),
    [
        (100, 50, "blackout"),  # the default: only emergencies pass
        (100, 80, "blackout"),
        (100, 100, "scheduled"),
        (101, 100, "blackout"),  # silences everything
        (71, 70, "blackout"),
        (70, 70, "scheduled"),  # a manual airing passes a threshold of 70
        (0, 50, "scheduled"),
    ],
)
def test_a_blackout_silences_airings_below_its_threshold(
    threshold: int, priority: int, status: str
) -> None:
    plan = plan_zone("east", T, T + timedelta(minutes=30), [window(threshold)], priority)
    assert plan.status == status
