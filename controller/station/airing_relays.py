"""An airing's zones on the relays: switched on for its start, cut where a blackout begins,
re-armed against the dead-man while on air, switched off (or handed over) at its end; every
switch goes into the record.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from controller.core.clock import WaitingClock
from controller.planning.planner import Airing, ZonePlan
from controller.station.airing_tasks import AiringTasks
from controller.station.late_zones import LateZones
from controller.station.live import AiringState, RunnerContext, ZoneLive, record_switch
from controller.station.power_check import checked_zones, watch_power
from controller.station.relaybank import ZoneSwitch

log = logging.getLogger(__name__)


class RelayHost(Protocol):
    """What AiringRelays needs of its airing's runner (kept narrow: no import of the runner)."""

    ctx: RunnerContext
    clock: WaitingClock
    airing: Airing
    state: AiringState
    late: LateZones

    @property
    def ended(self) -> bool: ...

    def deadman_until(self, until: datetime) -> float: ...

    def now_iso(self) -> str: ...


class AiringRelays:
    def __init__(self, runner: RelayHost, tasks: AiringTasks) -> None:
        self._runner = runner
        self._tasks = tasks  # the airing's background tasks: cuts run among them

    async def switch_on(self) -> list[ZoneLive]:
        """Every zone of the airing ON; the ones that confirmed (or were commanded) are live."""
        runner = self._runner
        a, bank = runner.airing, runner.ctx.bank
        deadman = runner.deadman_until(a.audio_end)
        switches = await asyncio.gather(
            *(bank.switch_zone(z.zone, True, deadman) for z in runner.state.zones.values())
        )
        live = []
        for sw in switches:
            zone = runner.state.zones[sw.zone]
            zone.relay = sw.result
            self._record_switch(sw)
            if sw.result == "failed" and sw.unreachable:
                runner.late.add(zone, sw.error or "")  # switched on late if it can be reached
                del runner.state.zones[sw.zone]
            elif sw.result == "failed":
                reason = f"继电器未确认 / relay: {sw.error}"
                runner.ctx.store.close_open(a.id, "failed", reason, zones=[sw.zone])
                del runner.state.zones[sw.zone]
            else:
                zone.on_air = True
                live.append(zone)
        for zone in checked_zones(live):  # the amplifier's draw confirms the audio (power_check)
            self._tasks.spawn(partial(watch_power, runner, zone), f"power {a.id} {zone.zone.id}")
        return live

    async def switch_off(self, zones: list[ZoneLive], handed: set[str] | None = None) -> None:
        """`zones` OFF; the `handed` ones stay on for the next airing and are recorded so."""
        runner = self._runner
        switches = await asyncio.gather(
            *(runner.ctx.bank.switch_zone(z.zone, False, None) for z in zones)
        )
        for zone, sw in zip(zones, switches, strict=True):
            zone.on_air = False
            zone.relay = "off" if sw.result != "failed" else "failed"
            self._record_switch(sw)
        for zone_id in sorted(handed or ()):
            if zone_id in runner.state.zones:
                runner.state.zones[zone_id].on_air = False
                runner.ctx.store.update(
                    runner.airing.id, [zone_id], relay_off_at=runner.now_iso(),
                    relay_off="handed_over",
                )  # fmt: skip

    def cut_earlier(self, fresh: Airing, now: datetime) -> list[ZonePlan]:
        """The plan changed while on air (a blackout entered now): zones whose end moved
        earlier are cut at the new end. Returns the zones' plans as they now stand."""
        plans = []
        for plan in fresh.zones:
            live = self._runner.state.zones.get(plan.zone)
            if live is not None and plan.status == "blackout":  # silenced from now on
                plan = replace(plan, status="cut", end=max(now, fresh.start))
            if live is not None and plan.status == "cut" and plan.end < live.end:
                live.end = plan.end
                if live.on_air:
                    self.spawn_cut(live)
            plans.append(plan)
        return plans

    def spawn_cut(self, zone: ZoneLive) -> None:
        async def cut(stop: asyncio.Event) -> None:
            await self._cut_at(zone, stop)

        self._tasks.spawn(cut, f"cut {self._runner.airing.id} {zone.zone.id}")

    async def _cut_at(self, zone: ZoneLive, stop: asyncio.Event) -> None:
        """A blackout starts inside the airing: this zone goes silent at its start."""
        runner = self._runner
        if await runner.clock.wait_event(stop, (zone.end - runner.clock.now()).total_seconds()):
            return
        if zone.end >= runner.airing.audio_end or not zone.on_air or runner.ended:
            return
        await self.switch_off([zone])
        plan = next(z for z in runner.airing.zones if z.zone == zone.zone.id)
        runner.ctx.store.close_open(
            runner.airing.id,
            "cut",
            f"静默期 / blackout: {plan.blackout}",
            zones=[zone.zone.id],
            audio_end=runner.now_iso(),
        )

    async def rearm_loop(self, stopping: asyncio.Event) -> None:
        """While on air: every zone's ON and the chain sent again with a fresh dead-man."""
        runner = self._runner
        sched = runner.ctx.config.schedule
        while not await runner.clock.wait_event(stopping, sched.rearm_s):
            deadman = runner.deadman_until(runner.airing.audio_end)
            for z in [z for z in runner.state.zones.values() if z.on_air]:
                if stopping.is_set():  # a cancellation a driver swallowed still ends the loop
                    return
                sw = await runner.ctx.bank.switch_zone(z.zone, True, deadman)
                if sw.result == "failed":
                    log.error("zone %s dead-man re-arm failed: %s", z.zone.id, sw.error)
            if stopping.is_set():
                return
            await runner.ctx.chain.rearm(
                runner.deadman_until(runner.airing.audio_end + timedelta(seconds=sched.postroll_s))
            )

    def _record_switch(self, sw: ZoneSwitch) -> None:
        record_switch(self._runner.ctx.store, self._runner.airing.id, sw)
