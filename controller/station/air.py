"""Who has the air: the priority ladder applied to what is due now (the airing that starts, the
one it preempts, the ones held off), and the runners it launches until each is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from controller.planning.due import Action, Timing
from controller.planning.ladder import arbitrate, handover
from controller.planning.planner import Airing
from controller.records.asrun_store import Outcome
from controller.station.live import AiringState, RunKind, RunnerContext, open_record
from controller.station.relay_safety import RelaySafety
from controller.station.resumes import Resumes
from controller.station.runner import RESUME_LEAD_S, AiringRunner

log = logging.getLogger(__name__)


class Air:
    def __init__(
        self,
        ctx: RunnerContext,
        timing: Timing,
        relays: RelaySafety,
        airings: Callable[[datetime, datetime], list[Airing]],
        due: Callable[[datetime], list[Action]],
    ) -> None:
        self.ctx = ctx
        self.timing = timing
        self.relays = relays
        self._airings = airings  # the station's plan: slots and overrides in [begin, until)
        self._due = due  # what the plan says is due now
        self.runners: dict[str, AiringRunner] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.resumes = Resumes(ctx.store)

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
        self.resumes.forgo_all(reason)
        return stopped

    def stop_airing(self, airing_id: str, reason: str) -> bool:
        """Stop one airing (its id or its base id); False if it is not running or waiting."""
        found = False
        for runner in list(self.runners.values()):
            if airing_id in (runner.airing.id, runner.base_id) and runner.holds_air:
                runner.end("stopped", reason)
                found = True
        if self.resumes.forgo(airing_id, reason):
            found = True
        return found

    async def cancel(self) -> None:
        """Cancel every airing's task and wait for each (the daemon stops)."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

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
        running = {r.base_id for r in self.runners.values() if r.state.phase != "done"}
        longest = timedelta(days=1)
        fresh = {a.id: a for a in self._airings(now - longest, now + timedelta(seconds=1))}
        return self.resumes.segments(now, fresh, running, self.timing.min_join_s)

    def handover_zones(self, ending: Airing, state: AiringState) -> set[str]:
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

    def act(self, actions: list[Action], orphans: set[str] | None = None) -> None:
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
            self.resumes.displace(holder.airing.id)
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
            self.resumes.resumed(a.id)
        runner = AiringRunner(a, kind, self.ctx)
        self.runners[a.id] = runner
        task = asyncio.create_task(self._run(runner), name=f"airing {a.id}")
        self.tasks[a.id] = task
        log.info("airing %s: %s", a.id, kind)

    def _record_held(self, a: Airing, blocker: Airing) -> None:
        open_record(self.ctx.store, a)
        self.ctx.store.close_open(a.id, "preempted", _displaced_by(blocker))
        self.resumes.displace(a.id)
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
            self.tasks.pop(runner.airing.id, None)
            self.runners.pop(runner.airing.id, None)


def _displaced_by(by: Airing) -> str:
    what = by.slot + (f"：{by.reason}" if by.reason else "")
    return f"被{what}占用 / preempted by {by.source} airing {by.id} (priority {by.priority})"
