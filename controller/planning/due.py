"""What the station must do now about each airing: start, join, or record it missed. Pure."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from controller.planning.planner import Airing

ActionKind = Literal["start", "join", "missed"]


NOT_RUNNING = "守护进程未运行 / daemon was not running"
# The daemon was running but never woke for it (a wall-clock step, a wake-up far too late).
MISSED_WHILE_RUNNING = (
    "守护进程运行中未能按时唤醒（时钟跳变？）/ missed while the daemon was running "
    "(wall-clock step or late wake-up)"
)

@dataclass(frozen=True)
class Timing:
    preroll_s: float
    chain_settle_s: float  # the amplifier chain's settle times, added up
    min_join_s: float
    wake_margin_s: float = 2.0  # spare time to open the decoder and reach the devices

    def lead_s(self) -> float:
        """How long before the planned audio start the station wakes for an airing."""
        return self.preroll_s + self.chain_settle_s + self.wake_margin_s

    def wake_at(self, airing: Airing) -> datetime:
        return airing.start - timedelta(seconds=self.lead_s())


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    airing: Airing
    reason: str = ""


def due_actions(
    airings: Sequence[Airing],
    now: datetime,
    timing: Timing,
    handled: Collection[str],
    alive_since: datetime | None,
    missed_reason: str | None = None,
) -> list[Action]:
    """Airings that need the station now.

    `handled`: airing ids already running or finished in the record. `alive_since`: from when
    the station has been watching; an airing that came and went before it is not ours to
    judge, one that came and went after it (the daemon was down) is recorded missed.
    """
    actions: list[Action] = []
    for airing in airings:  # `missed_reason`: why an airing that came and went was missed
        if airing.id in handled or now < timing.wake_at(airing):
            continue
        left = (airing.audio_end - now).total_seconds()
        if now < airing.start:
            actions.append(Action("start", airing))
        elif not airing.on_air_zones:
            actions.append(Action("start", airing))  # all blacked out: only recorded
        elif left >= timing.min_join_s:
            actions.append(Action("join", airing))
        elif left > 0:
            actions.append(
                Action(
                    "missed",
                    airing,
                    f"启动时仅剩 {left:.0f} 秒，不足以加入 / only {left:.0f} s left",
                )
            )
        elif alive_since is not None and airing.start >= alive_since:
            actions.append(Action("missed", airing, missed_reason or NOT_RUNNING))
    return actions
