"""The station: decides what airs now, runs airings, recovers after a crash, keeps relays safe."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from controller.core.airing_id import AiringId
from controller.core.clock import ClockStep, waiting
from controller.planning.due import MISSED_WHILE_RUNNING, Action, Timing, due_actions
from controller.planning.ladder import arbitrate, handover
from controller.planning.planner import Airing, Blackout, airings_between, blackouts_from_config
from controller.records.asrun_store import Outcome
from controller.station.live import AiringState, RunKind, RunnerContext, open_record
from controller.station.relay_safety import RelaySafety
from controller.station.runner import RESUME_LEAD_S, AiringRunner
from controller.station.waker import Waker

# Overrides (manual, emergency) as airings: (blackouts, begin, until) → the ones meeting it.
OverrideSource = Callable[[list[Blackout], datetime, datetime], list[Airing]]

log = logging.getLogger(__name__)

LOOKAROUND = timedelta(days=1)
ONLINE_SETTLE_S = 1.0  # from a device's "online" to the OFF it is sent again
NO_RESUME = "no_resume|"  # station_state key prefix: a displaced airing an operator stopped


class Station:
    def __init__(self, ctx: RunnerContext, waker: Waker) -> None:
        self.ctx = ctx
        self.waker = waker
        self._clock = waiting(ctx.clock)
        self.runners: dict[str, AiringRunner] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._alive_since: datetime | None = None
        self._blackout_sources: list[Callable[[], list[Blackout]]] = []
        self._override_sources: list[OverrideSource] = []
        # Airings that lost the air (preempted, or held off by a higher one) and resume when
        # the air is free again while their window is open: base id → resume count so far.
        self.displaced: dict[str, int] = {}
        ctx.next_zones = self._handover_zones
        ctx.on_air_free = self._on_air_free
        cfg = ctx.config
        self.timing = Timing(cfg.schedule.preroll_s, ctx.chain.settle_s, cfg.schedule.min_join_s)
        self.started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweep_after_start = False
        self.relays = RelaySafety(ctx, lambda: list(self.runners.values()))
        waker.on_clock_step(self._on_clock_step)

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover the record, make the relays safe, join a running slot, start the waker."""
        store, now = self.ctx.store, self.ctx.clock.now()
        self._loop = asyncio.get_running_loop()
        last = store.get_state("last_alive")
        self._alive_since = datetime.fromisoformat(last) if last else None
        orphans = set(store.open_airings())
        stopped = set(store.closed_by_shutdown(now)) - orphans  # ended by an orderly stop
        for base in store.preempted_open(now):  # displaced before the restart: still owed
            if store.get_state(f"{NO_RESUME}{base}") is None:
                self.displaced.setdefault(base, 0)
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
        self._act(actions, orphans)
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
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
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
        self.ctx.faults.append(
            (step.wall_after, f"系统时钟跳变 {step.step_s:+.1f} 秒 / wall clock stepped "
             f"{step.step_s:+.1f} s")
        )  # fmt: skip
        del self.ctx.faults[:-50]
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
        self._act(self._due(now))
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

    # -- the priority ladder -------------------------------------------------------------------

    def holder(self) -> AiringRunner | None:
        """The runner that has the air (the highest-priority one not ending)."""
        holding = [r for r in self.runners.values() if r.holds_air]
        return max(holding, key=lambda r: r.airing.priority) if holding else None

    def lead_s(self, zones: list[str]) -> float:
        """How far ahead an airing asked for "now" must start: the preroll unless its zones
        are already on air (taken over from the airing it displaces), the amplifier settle
        times unless the chain is already powered."""
        holder = self.holder()
        live = {z for z, st in holder.state.zones.items() if st.on_air} if holder else set()
        lead = RESUME_LEAD_S
        if not set(zones) <= live:
            lead += self.ctx.config.schedule.preroll_s
        if not self.ctx.chain.powered:
            lead += self.ctx.chain.settle_s
        return lead

    def stop_air(self, reason: str) -> list[str]:
        """Stop whatever is on air now (future slots stay); nothing displaced resumes."""
        stopped = []
        for runner in list(self.runners.values()):
            if runner.state.phase != "done" and runner.holds_air:
                runner.end("stopped", reason)
                stopped.append(runner.airing.id)
        for base in self.displaced:  # a restart must not bring them back either
            self.ctx.store.set_state(f"{NO_RESUME}{base}", reason)
        self.displaced.clear()
        return stopped

    def stop_airing(self, airing_id: str, reason: str) -> bool:
        """Stop one airing (its id or its base id); False if it is not running or waiting."""
        found = False
        for runner in list(self.runners.values()):
            if airing_id in (runner.airing.id, runner.base_id) and runner.holds_air:
                runner.end("stopped", reason)
                found = True
        base = AiringId.base_of(airing_id)
        if self.displaced.pop(base, None) is not None:
            self.ctx.store.set_state(f"{NO_RESUME}{base}", reason)
            found = True
        return found

    def _wanting(
        self, now: datetime, actions: list[Action]
    ) -> tuple[list[Airing], dict[str, RunKind]]:
        kinds: dict[str, RunKind] = {}
        wanting = []
        for action in actions:
            if action.kind in ("start", "join") and action.airing.on_air_zones:
                wanting.append(action.airing)
                kinds[action.airing.id] = "join" if action.kind == "join" else "start"
        for airing in self._resumables(now):
            wanting.append(airing)
            kinds[airing.id] = "resume"
        return wanting, kinds

    def _resumables(self, now: datetime) -> list[Airing]:
        """Displaced airings whose window is still open, as their next segment."""
        out = []
        running = {r.base_id for r in self.runners.values() if r.state.phase != "done"}
        longest = timedelta(days=1)
        fresh = {a.id: a for a in self.airings(now - longest, now + timedelta(seconds=1))}
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
            if not segment.on_air_zones or left < self.timing.min_join_s:
                del self.displaced[base]  # its window closed while it was off the air
                continue
            out.append(segment)
        return out

    def _handover_zones(self, ending: Airing, state: AiringState) -> set[str]:
        """Zones the ending airing leaves on for the one that takes the air next."""
        now = self.ctx.clock.now()
        soon = now + timedelta(seconds=1)
        preroll = timedelta(seconds=self.ctx.config.schedule.preroll_s)
        live = [z for z, st in state.zones.items() if st.on_air]
        keep: set[str] = set()
        for other in self.runners.values():  # its zones come on within a second anyway
            soon_on = other.holds_air and other.airing.start - preroll <= soon
            if other.state is not state and soon_on:
                keep |= handover(other.airing, live)
        wanting, _ = self._wanting(now, self._due(now))
        ready = [a for a in wanting if a.id != ending.id and a.start <= soon]
        return keep | handover(arbitrate(None, ready).start, live)

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
        handled |= set(self._tasks)
        handled -= exclude or set()
        airings = self.airings(now - LOOKAROUND, now + LOOKAROUND)
        why = MISSED_WHILE_RUNNING if self.started else None  # before: it was not running
        return due_actions(airings, now, self.timing, handled, self._alive_since, why)

    def _act(self, actions: list[Action], orphans: set[str] | None = None) -> None:
        now = self.ctx.clock.now()
        for action in actions:
            a = action.airing
            if action.kind in ("start", "join") and not a.on_air_zones:
                self._launch(a, "start")  # all blacked out: only recorded
                continue
            if action.kind == "missed":
                outcome: Outcome = "failed" if orphans and a.id in orphans else "missed"
                self.ctx.store.open_rows(
                    a.id, a.slot, a.playlist, a.start, a.end, [(z.zone, z.end) for z in a.zones]
                )
                self.ctx.store.close_open(a.id, outcome, action.reason)
                log.warning("airing %s %s: %s", a.id, outcome, action.reason)
        wanting, kinds = self._wanting(now, actions)
        holder = self.holder()
        decision = arbitrate(holder.airing if holder else None, wanting)
        new = decision.start
        if new is not None and holder is not None and decision.preempt is not None:
            live = [z for z, st in holder.state.zones.items() if st.on_air]
            holder.end("preempted", _displaced_by(new), handover(new, live))
            self._displace(holder.airing.id)
        if new is not None:
            self._launch(new, kinds[new.id])
        blocker = new or (holder.airing if holder else None)
        for held in decision.waiting:
            if kinds[held.id] == "resume" or held.start > now or blocker is None:
                continue  # a resume keeps waiting; a future start is judged at its start
            # Its time has come but a higher (or equal, earlier) airing has the air.
            self._record_held(held, blocker)

    def _launch(self, a: Airing, kind: RunKind) -> None:
        if kind == "resume":
            self.displaced[AiringId.base_of(a.id)] += 1
        runner = AiringRunner(a, kind, self.ctx)
        self.runners[a.id] = runner
        task = asyncio.create_task(self._run(runner), name=f"airing {a.id}")
        self._tasks[a.id] = task
        log.info("airing %s: %s", a.id, kind)

    def _displace(self, airing_id: str) -> None:
        base = AiringId.base_of(airing_id)
        self.displaced.setdefault(base, 0)

    def _record_held(self, a: Airing, blocker: Airing) -> None:
        open_record(self.ctx.store, a)
        self.ctx.store.close_open(a.id, "preempted", _displaced_by(blocker))
        self._displace(a.id)
        log.info("airing %s held off the air by %s", a.id, blocker.id)

    async def _run(self, runner: AiringRunner) -> None:
        try:
            await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("airing %s crashed", runner.airing.id)
            # Safe state first: the record is written after the relays are off (issue 9).
            for error in await self.ctx.bank.drive_off(self.relays.refs_of([runner.airing])):
                log.error("airing %s crash safe state: %s", runner.airing.id, error)
            self.ctx.store.close_open(
                runner.airing.id, "failed", f"内部错误 / internal error: {exc}"
            )
        finally:
            self._tasks.pop(runner.airing.id, None)
            self.runners.pop(runner.airing.id, None)

    def _plan_wakes(self, now: datetime) -> None:
        for airing in self.airings(now, now + LOOKAROUND):
            wake = self.timing.wake_at(airing)
            if wake > now:
                self.waker.at(wake, airing.id, self.reconcile)
            if airing.start > now:  # one held off by a higher airing is judged at its start
                self.waker.at(airing.start, f"{airing.id}@start", self.reconcile)


def _displaced_by(by: Airing) -> str:
    what = by.slot + (f"：{by.reason}" if by.reason else "")
    return f"被{what}占用 / preempted by {by.source} airing {by.id} (priority {by.priority})"
