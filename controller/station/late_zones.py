"""Zones whose relays could not be reached at switch-on, switched on late when they can be.

An ON that could not be sent (MQTT broker unreachable, device offline) is never replayed
(DESIGN.md §2.3); but while the airing's window is open the station sends a fresh one, with a
fresh dead-man, as soon as the broker is back (or on the next try), and the record says how
late the zone came on. A zone never reached ends `failed` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from controller.core.clock import WaitingClock
from controller.planning.planner import Airing
from controller.station.live import AiringState, RunnerContext, ZoneLive, record_switch

log = logging.getLogger(__name__)

RETRY_S = 1.0  # between tries when no reconnect is heard of
MIN_LEFT_S = 1.0  # a zone with less of its window left is not switched on any more


@dataclass
class Unreached:
    zone: ZoneLive
    error: str


class LateHost(Protocol):
    """What LateZones needs of its airing's runner (kept narrow: no import of the runner)."""

    ctx: RunnerContext
    clock: WaitingClock
    airing: Airing
    state: AiringState

    def deadman_until(self, until: datetime) -> float: ...

    def spawn_cut(self, zone: ZoneLive) -> None: ...


class LateZones:
    def __init__(self, runner: LateHost) -> None:
        self._runner = runner
        self.waiting: dict[str, Unreached] = {}
        self.late_s: dict[str, float] = {}  # zone → seconds after its planned switch-on
        self._kick = asyncio.Event()

    def add(self, zone: ZoneLive, error: str) -> None:
        self.waiting[zone.zone.id] = Unreached(zone, error)

    def kick(self) -> None:
        """The broker (or a device) is back: try at once."""
        self._kick.set()

    async def loop(self, stop: asyncio.Event) -> None:
        while self.waiting and not stop.is_set():
            await self._runner.clock.wait_event(self._kick, RETRY_S)
            self._kick.clear()
            for zone_id in list(self.waiting):
                if stop.is_set():  # a cancellation a driver swallowed still ends the loop
                    return
                await self._try(zone_id)

    async def _try(self, zone_id: str) -> None:
        runner = self._runner
        ctx, airing = runner.ctx, runner.airing
        item = self.waiting[zone_id]
        now = ctx.clock.now()
        if (min(item.zone.end, airing.audio_end) - now).total_seconds() < MIN_LEFT_S:
            return
        postroll = timedelta(seconds=ctx.config.schedule.postroll_s)
        await ctx.chain.rearm(runner.deadman_until(airing.audio_end + postroll))
        sw = await ctx.bank.switch_zone(
            item.zone.zone, True, runner.deadman_until(airing.audio_end)
        )
        if sw.result == "failed":
            item.error = sw.error or item.error
            return
        del self.waiting[zone_id]
        planned = airing.start - timedelta(seconds=ctx.config.schedule.preroll_s)
        late = max((sw.at - planned).total_seconds(), 0.0)
        self.late_s[zone_id] = late
        item.zone.relay, item.zone.on_air = sw.result, True
        runner.state.zones[zone_id] = item.zone
        record_switch(ctx.store, airing.id, sw)
        if runner.state.audio_start is not None:  # its audio begins now, not at the start
            at = sw.at.astimezone(ctx.config.station.tz).isoformat(timespec="microseconds")
            ctx.store.update(airing.id, [zone_id], audio_start=at)
        log.warning("airing %s: zone %s switched on %.1f s late", airing.id, zone_id, late)
        if item.zone.end < airing.audio_end:
            runner.spawn_cut(item.zone)

    def close_unreached(self) -> None:
        """The airing is over: zones never reached are failed, with why."""
        runner = self._runner
        for zone_id, item in sorted(self.waiting.items()):
            reason = f"继电器未确认 / relay: {item.error}"
            runner.ctx.store.close_open(runner.airing.id, "failed", reason, zones=[zone_id])
        self.waiting.clear()

    def note(self, zone_id: str) -> str | None:
        late = self.late_s.get(zone_id)
        if late is None:
            return None
        return (
            f"继电器迟 {late:.1f} 秒开启（无法连接后恢复） / zone switched on {late:.1f} s late, "
            "when its relay could be reached again"
        )
