"""The priority ladder (DESIGN.md §2.7), as one pure decision: who has the air now.

There is one audio output, so one airing is on air at a time. The highest-priority airing that
wants the air takes it; a lower or equal one waits (a running airing is not displaced by an
equal one); one that starts after the holder's audio ends does not conflict with it and may
power up during the holder's last seconds. The airing that loses the air is displaced; the
station resumes it at its wall-clock position when the air is free again and its window is
still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.planning.planner import Airing


@dataclass(frozen=True)
class Decision:
    start: Airing | None = None  # takes the air now
    preempt: Airing | None = None  # the holder, displaced by `start`
    waiting: tuple[Airing, ...] = ()  # want the air but may not have it yet


def rank(airings: Sequence[Airing]) -> list[Airing]:
    """Highest priority first; among equals the earlier start, then the id (stable)."""
    return sorted(airings, key=lambda a: (-a.priority, a.start, a.id))


def arbitrate(holder: Airing | None, wanting: Sequence[Airing]) -> Decision:
    """`holder`: the airing on air (None if the air is free). `wanting`: airings due now."""
    ranked = rank([a for a in wanting if holder is None or a.id != holder.id])
    if not ranked:
        return Decision()
    best, rest = ranked[0], tuple(ranked[1:])
    if holder is None or best.start >= holder.audio_end:  # no overlap: the next in line
        return Decision(start=best, waiting=rest)
    if best.priority > holder.priority:
        return Decision(start=best, preempt=holder, waiting=rest)
    return Decision(waiting=tuple(ranked))


def handover(next_airing: Airing | None, zones_on_air: Sequence[str]) -> set[str]:
    """The zones an ending airing leaves switched on because the next one airs on them too
    (no relay click, no preroll between the two)."""
    if next_airing is None:
        return set()
    wanted = {z.zone for z in next_airing.on_air_zones}
    return wanted & set(zones_on_air)
