"""One outcome model: what an airing's state is, derived from its as-run rows (every segment,
every zone) and, while it is not over, from whether the engine has it on air or waiting.

Whatever shows an airing (the API, the console, the CLI) asks here, so no screen can say
"aired" of an airing whose rows say it failed. Pure: rows, the engine's answer and the time in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from controller.core.airing_id import AiringId
from controller.records.asrun_row import FULL_AIRINGS, AsRunRow

AiringStateName = Literal[
    "scheduled", "waiting", "on_air", "aired", "aired_partly", "cut", "preempted", "stopped",
    "never_aired", "missed", "failed",
]  # fmt: skip
AIRED_LIKE = FULL_AIRINGS
# When no zone aired, the one word for the airing: the first of these its zones have.
_NOT_AIRED_ORDER = ("stopped", "preempted", "cut", "blacked_out", "failed", "missed")
_AS_STATE: dict[str, AiringStateName] = {
    "stopped": "stopped", "preempted": "preempted", "cut": "cut", "blacked_out": "cut",
    "failed": "failed", "missed": "missed",
}  # fmt: skip

WORDS: dict[AiringStateName, str] = {
    "scheduled": "即将开始",
    "waiting": "等待播出",
    "on_air": "正在播出",
    "aired": "已播出",
    "aired_partly": "部分区域未播出",
    "cut": "被静默期截断",
    "preempted": "被打断，未恢复",
    "stopped": "已停播",
    "never_aired": "未能播出（时段已过）",
    "missed": "错过",
    "failed": "播出失败",
}


@dataclass(frozen=True)
class AiringView:
    state: AiringStateName
    words: str  # the state in the console's Chinese
    failed_zones: tuple[str, ...] = ()  # zones that did not air, when others did
    reason: str = ""  # from the rows: why, when it did not air everywhere

    def to_dict(self) -> dict[str, object]:
        return {
            "state": self.state, "words": self.words, "failed_zones": list(self.failed_zones),
            "reason": self.reason,
        }  # fmt: skip


def airing_view(
    rows: Sequence[AsRunRow], *, now: datetime, end: datetime, on_air: bool, waiting: bool,
    behind: Sequence[str] = (),
) -> AiringView:
    """The state of one airing from `rows` (all its segments' rows), the engine's answer
    (`on_air`, `waiting`, and while it waits the airings on air it waits `behind`) and whether
    its window (`end`) has closed by `now`."""
    if on_air or any(r.outcome is None for r in rows):
        return _view("on_air")
    if waiting:
        ahead = "、".join(behind)
        why = f"排在 {ahead} 之后 / waiting behind {', '.join(behind)}" if behind else ""
        return _view("waiting", (), why)
    if not rows:
        return _view("scheduled" if now < end else "never_aired")
    final = _final_by_zone(rows)
    aired = sorted(z for z, r in final.items() if r.outcome in AIRED_LIKE)
    not_aired = sorted(z for z, r in final.items() if r.outcome not in AIRED_LIKE)
    reason = "; ".join(dict.fromkeys(final[z].reason for z in not_aired if final[z].reason))
    if not not_aired:
        return _view("aired")
    if aired:
        return _view("aired_partly", tuple(not_aired), reason)
    outcomes = {final[z].outcome for z in not_aired}
    if outcomes == {"preempted"} and not any(r.audio_start for r in rows):
        return _view("never_aired", (), reason)  # held back from the start, until too late
    word = next(o for o in _NOT_AIRED_ORDER if o in outcomes)
    return _view(_AS_STATE[word], (), reason)


def _final_by_zone(rows: Sequence[AsRunRow]) -> dict[str, AsRunRow]:
    """Each zone's last word: the row of its latest segment (a resume follows a preempt)."""
    final: dict[str, AsRunRow] = {}
    for row in sorted(rows, key=lambda r: AiringId.parse(r.airing_id).segment):
        final[row.zone] = row
    return final


def _view(state: AiringStateName, zones: tuple[str, ...] = (), reason: str = "") -> AiringView:
    return AiringView(state, WORDS[state], zones, reason)
