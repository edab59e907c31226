"""The station's life cycle: start-up (the record recovered after a crash, idle relays made
safe), stop, and reconciling the plan with the air whenever a wake, a kick, a reconnect or a
clock step calls for it. Who gets the air is decided in `air`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from controller.core.clock import ClockStep, waiting
from controller.planning.due import MISSED_WHILE_RUNNING, Action, Timing, due_actions
from controller.planning.planner import Airing, Blackout, airings_between, blackouts_from_config
from controller.station.air import Air
from controller.station.live import RunnerContext
from controller.station.relay_safety import RelaySafety
from controller.station.runner import AiringRunner
from controller.station.waker import Waker

# Overrides (manual, emergency) as airings: (blackouts, begin, until) → the ones meeting it.
OverrideSource = Callable[[list[Blackout], datetime, datetime], list[Airing]]

log = logging.getLogger(__name__)

LOOKAROUND = timedelta(days=1)
ONLINE_SETTLE_S = 1.0  # from a device's "online" to the OFF it is sent again


class Station:
    def __init__(self, ctx: RunnerContext, waker: Waker) -> None:
        self.ctx = ctx
        self.waker = waker
        self._clock = waiting(ctx.clock)
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._alive_since: datetime | None = None
        self._blackout_sources: list[Callable[[], list[Blackout]]] = []
        self._override_sources: list[OverrideSource] = []
        cfg = ctx.config
        self.timing = Timing(cfg.schedule.preroll_s, ctx.chain.settle_s, cfg.schedule.min_join_s)
        self.relays = RelaySafety(ctx, lambda: list(self.runners.values()))
        self.air = Air(ctx, self.timing, self.relays, self.airings, self._due)
        ctx.next_zones = self.air.handover_zones
        ctx.on_air_free = self._on_air_free
        self.started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweep_after_start = False
        waker.on_clock_step(self._on_clock_step)

    @property
    def runners(self) -> dict[str, AiringRunner]:
        """The airings running now, by id (each until its runner is done)."""
        return self.air.runners

    @property
    def displaced(self) -> dict[str, int]:
        """Displaced airings owed a resume: base id → resume count so far."""
        return self.air.resumes.displaced

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover the record, make the relays safe, join a running slot, start the waker."""
        store, now = self.ctx.store, self.ctx.clock.now()
        self._loop = asyncio.get_running_loop()
        last = store.get_state("last_alive")
        self._alive_since = datetime.fromisoformat(last) if last else None
        orphans = set(store.open_airings())
        stopped = set(store.closed_by_shutdown(now)) - orphans  # ended by an orderly stop
        self.air.resumes.load(now)
        actions = self._due(now, exclude=orphans | stopped)
        actions = [a for a in actions if a.airing.id not in stopped or a.kind != "missed"]
        joining = {a.airing.id for a in actions if a.kind in ("start", "join")}
        for airing_id in stopped & joining:
            store.reopen_after_shutdown(airing_id)  # its window is open: it goes on
        for airing_id in orphans - joining:
            # The airing was on air when the daemon died and cannot be continued.
            store.close_open(airing_id, "failed", "守护进程中断，未能续播 / daemon died mid-airing")
        busy = self.relays.refs_of([a.airing for a in actions if a.kind in ("start", "join")])
        idle = sorted(set(self.relays.all_refs()) - busy)
        for error in await self.ctx.bank.drive_off(idle):
            log.error("start-up safe state: %s", error)
        self.air.act(actions, orphans)
        self.waker.every(30.0, self.reconcile)
        self.waker.start()
        self._plan_wakes(now)
        self._alive_since = now
        self.started = True
        for device_id, device in self.ctx.bank.devices.items():
            listen = getattr(device, "on_online", None)
            if listen is not None:
                listen(lambda d=device_id: self._device_online(d))
        if self._sweep_after_start:
            self._side(self.relays.drive_idle_off("start-up, broker back"))

    def _device_online(self, device_id: str) -> None:
        """A device came (back) online: its idle relays get their OFF again, a moment later
        (a device may announce itself before it has subscribed to its commands)."""
        if self.started:
            self._side(self._idle_off_later(device_id))

    async def _idle_off_later(self, device_id: str) -> None:
        await self._clock.sleep(ONLINE_SETTLE_S)
        if self.started:
            await self.relays.drive_idle_off(f"{device_id} back online", device_id)

    def _side(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def stop(self) -> None:
        """Stop every airing (each switches off, then closes its rows `stopped` or `missed`;
        a restart inside the window joins it), then drive every relay to its safe state."""
        self.started = False  # no kick, reconnect or wake starts anything from now on
        self.waker.shutdown()
        side = list(self._side_tasks)
        for task in side:
            task.cancel()
        if side:
            await asyncio.gather(*side, return_exceptions=True)
        await self.air.cancel()
        for error in await self.ctx.bank.drive_off(self.relays.all_refs()):
            log.error("shutdown safe state: %s", error)

    def on_mqtt_connection(self, connected: bool) -> None:
        """Back on the broker: every relay no airing uses now is driven OFF again (an OFF may
        have been lost while the broker was unreachable), and zones an airing could not reach
        are switched on at once while its window is open."""
        if connected and not self.started and self._loop is not None:
            self._sweep_after_start = True  # starting: its own sweep may have missed the broker
        if not connected or not self.started:
            return
        for runner in list(self.runners.values()):
            runner.reach_now()
        self._side(self.relays.drive_idle_off("reconnect"))

    def _on_clock_step(self, step: ClockStep) -> None:
        """NTP stepped the wall clock: running airings measure their waits again and note it,
        wakes are planned afresh (the waker runs a reconcile at once)."""
        log.warning("wall clock stepped %+.1f s", step.step_s)
        self.ctx.fault(
            f"系统时钟跳变 {step.step_s:+.1f} 秒 / wall clock stepped {step.step_s:+.1f} s",
            step.wall_after,
        )
        for runner in list(self.runners.values()):
            runner.clock_stepped(step.step_s)
        if self.started:
            self._plan_wakes(self.ctx.clock.now())

    # -- decisions -----------------------------------------------------------------------------

    def blackouts(self) -> list[Blackout]:
        found = blackouts_from_config(self.ctx.config)
        for source in self._blackout_sources:
            found.extend(source())
        return found

    def add_blackout_source(self, source: Callable[[], list[Blackout]]) -> None:
        self._blackout_sources.append(source)

    def add_override_source(self, source: OverrideSource) -> None:
        self._override_sources.append(source)

    def airings(self, begin: datetime, until: datetime) -> list[Airing]:
        """The slots starting in [begin, until) and the overrides meeting it, by start."""
        blackouts = self.blackouts()
        found = airings_between(self.ctx.config, blackouts, begin, until)
        for source in self._override_sources:
            found += source(blackouts, begin, until)
        return sorted(found, key=lambda a: (a.start, a.id))

    async def reconcile(self) -> None:
        """Called by the waker at each airing's wake time, every 30 s as a watchdog, when the
        air becomes free and when an override or a blackout changes."""
        now = self.ctx.clock.now()
        self._replan_running(now)
        self.air.act(self._due(now))
        self._plan_wakes(now)
        self.ctx.store.set_state("last_alive", now.isoformat())
        self.ctx.store.check_file()  # a deleted database file is a fault, not a silent loss

    def kick(self) -> None:
        """Reconcile as soon as the event loop is free (the API changed what should air).
        Safe from any thread (the API's sync routes run in a thread pool)."""
        loop = self._loop
        if loop is None or loop.is_closed() or not self.started:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._kick_now()
        else:
            loop.call_soon_threadsafe(self._kick_now)

    def _kick_now(self) -> None:
        self._side(self.reconcile())

    # -- the air (the priority ladder, in `air`) -----------------------------------------------

    def lead_s(self, zones: list[str]) -> float:
        return self.air.lead_s(zones)

    def stop_air(self, reason: str) -> list[str]:
        return self.air.stop_air(reason)

    def stop_airing(self, airing_id: str, reason: str) -> bool:
        return self.air.stop_airing(airing_id, reason)

    def _on_air_free(self) -> None:
        if self.started:
            self.kick()

    def _replan_running(self, now: datetime) -> None:
        """Blackouts entered while an airing is on air cut it (the planner's view now)."""
        running = [r for r in self.runners.values() if r.holds_air]
        if not running:
            return
        fresh = {a.id: a for a in self.airings(now - LOOKAROUND, now + LOOKAROUND)}
        for runner in running:
            airing = fresh.get(runner.base_id)
            if airing is not None and airing.zones != runner.airing.zones:
                runner.replan(replace(airing, id=runner.airing.id))

    def _due(self, now: datetime, exclude: set[str] | None = None) -> list[Action]:
        tz = self.ctx.config.station.tz
        handled = self.ctx.store.known_airings((now - 2 * LOOKAROUND).astimezone(tz))
        handled |= set(self.air.tasks)
        handled -= exclude or set()
        airings = self.airings(now - LOOKAROUND, now + LOOKAROUND)
        why = MISSED_WHILE_RUNNING if self.started else None  # before: it was not running
        return due_actions(airings, now, self.timing, handled, self._alive_since, why)

    def _plan_wakes(self, now: datetime) -> None:
        for airing in self.airings(now, now + LOOKAROUND):
            wake = self.timing.wake_at(airing)
            if wake > now:
                self.waker.at(wake, airing.id, self.reconcile)
            if airing.start > now:  # one held off by a higher airing is judged at its start
                self.waker.at(airing.start, f"{airing.id}@start", self.reconcile)
