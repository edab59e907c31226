"""Airings that lost the air (preempted, or held off by a higher one) and are owed a resume
while their window is open; an operator's stop forgoes it, across a restart too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from controller.core.airing_id import AiringId
from controller.planning.planner import Airing
from controller.station.asrun_writer import AsRunJournal

NO_RESUME = "no_resume|"  # station_state key prefix: a displaced airing an operator stopped


class Resumes:
    def __init__(self, store: AsRunJournal) -> None:
        self._store = store
        # Airings that lost the air (preempted, or held off by a higher one) and resume when
        # the air is free again while their window is open: base id → resume count so far.
        self.displaced: dict[str, int] = {}

    def load(self, now: datetime) -> None:
        """At start-up: what the record says was displaced and not stopped."""
        store = self._store
        for base in store.preempted_open(now):  # displaced before the restart: still owed
            if store.get_state(f"{NO_RESUME}{base}") is None:
                self.displaced.setdefault(base, 0)

    def displace(self, airing_id: str) -> None:
        base = AiringId.base_of(airing_id)
        self.displaced.setdefault(base, 0)

    def resumed(self, airing_id: str) -> None:
        """A segment of a displaced airing is launched."""
        self.displaced[AiringId.base_of(airing_id)] += 1

    def forgo_all(self, reason: str) -> None:
        """Nothing displaced resumes (the air was stopped)."""
        for base in self.displaced:  # a restart must not bring them back either
            self._store.set_state(f"{NO_RESUME}{base}", reason)
        self.displaced.clear()

    def forgo(self, airing_id: str, reason: str) -> bool:
        """This airing (its id or its base id) does not resume; False if it was not owed."""
        base = AiringId.base_of(airing_id)
        if self.displaced.pop(base, None) is not None:
            self._store.set_state(f"{NO_RESUME}{base}", reason)
            return True
        return False

    def segments(
        self, now: datetime, fresh: dict[str, Airing], running: set[str], min_join_s: float
    ) -> list[Airing]:
        """Displaced airings whose window is still open, as their next segment (`fresh`: the
        plan's airings by id; `running`: base ids with a runner not done)."""
        out = []
        for base, count in list(self.displaced.items()):
            airing = fresh.get(base)
            if airing is None or base in running:
                if airing is None:
                    del self.displaced[base]
                continue
            zones = tuple(
                replace(z, status="blackout") if z.status == "cut" and z.end <= now else z
                for z in airing.zones
            )
            segment = replace(airing, id=str(AiringId(base).resumed(count + 1)), zones=zones)
            left = (segment.audio_end - now).total_seconds()
            if not segment.on_air_zones or left < min_join_s:
                del self.displaced[base]  # its window closed while it was off the air
                continue
            out.append(segment)
        return out
