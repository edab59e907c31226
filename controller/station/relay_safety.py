"""Which relays the station may leave on, and driving the rest to their safe state (OFF)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from controller.planning.planner import Airing
from controller.station.live import RunnerContext

if TYPE_CHECKING:
    from controller.station.runner import AiringRunner

log = logging.getLogger(__name__)


class RelaySafety:
    def __init__(self, ctx: RunnerContext, runners: Callable[[], list[AiringRunner]]) -> None:
        self.ctx = ctx
        self._runners = runners

    def all_refs(self) -> list[str]:
        refs = [r for z in self.ctx.config.zones for r in z.relays]
        return refs + self.ctx.chain.refs

    def refs_of(self, airings: list[Airing]) -> set[str]:
        if not airings:
            return set()
        zones = {z.id: z for z in self.ctx.config.zones}
        refs = {r for a in airings for p in a.on_air_zones for r in zones[p.zone].relays}
        return refs | set(self.ctx.chain.refs)

    def in_use(self) -> set[str]:
        """Relays a running airing has on (or is switching), and the chain while powered."""
        zones = {z.id: z for z in self.ctx.config.zones}
        used: set[str] = set()
        runners = [r for r in self._runners() if r.state.phase != "done"]
        for runner in runners:
            waiting = runner.state.phase in ("waking", "power_on", "zones_on")
            for zone_id, live in runner.state.zones.items():
                if live.on_air or waiting:
                    used |= set(zones[zone_id].relays)
            used |= {r for z in runner.late.waiting for r in zones[z].relays}
        if self.ctx.chain.powered or runners:
            used |= set(self.ctx.chain.refs)
        return used

    async def drive_idle_off(self, why: str, device: str | None = None) -> None:
        """Every relay no airing uses now (of `device`, or all) goes OFF again: an OFF may
        have been lost while it or the broker was unreachable."""
        refs = set(self.all_refs()) - self.in_use()
        if device is not None:
            refs = {r for r in refs if r.rpartition(":")[0] == device}
        for error in await self.ctx.bank.drive_off(refs):
            log.error("%s safe state: %s", why, error)
