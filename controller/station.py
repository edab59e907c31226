"""The station: decides what airs now, runs airings, recovers after a crash, keeps relays safe."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from controller.decide import Action, Timing, due_actions
from controller.planner import Airing, Blackout, airings_between, blackouts_from_config
from controller.runner import AiringRunner, RunnerContext
from controller.scheduler import Waker
from controller.store import Outcome

log = logging.getLogger(__name__)

LOOKAROUND = timedelta(days=1)


class Station:
    def __init__(self, ctx: RunnerContext, waker: Waker) -> None:
        self.ctx = ctx
        self.waker = waker
        self.runners: dict[str, AiringRunner] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._alive_since: datetime | None = None
        self._blackout_sources: list[Callable[[], list[Blackout]]] = []
        cfg = ctx.config
        self.timing = Timing(cfg.schedule.preroll_s, ctx.chain.settle_s, cfg.schedule.min_join_s)
        self.started = False

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover the record, make the relays safe, join a running slot, start the waker."""
        store, now = self.ctx.store, self.ctx.clock.now()
        last = store.get_state("last_alive")
        self._alive_since = datetime.fromisoformat(last) if last else None
        orphans = set(store.open_airings())
        actions = self._due(now, exclude=orphans)
        joining = {a.airing.id for a in actions if a.kind in ("start", "join")}
        for airing_id in orphans - joining:
            # The airing was on air when the daemon died and cannot be continued.
            store.close_open(airing_id, "failed", "守护进程中断，未能续播 / daemon died mid-airing")
        busy = self._refs_of([a.airing for a in actions if a.kind in ("start", "join")])
        idle = sorted(set(self._all_refs()) - busy)
        for error in await self.ctx.bank.drive_off(idle):
            log.error("start-up safe state: %s", error)
        self._act(actions, orphans)
        self.waker.every(30.0, self.reconcile)
        self.waker.start()
        self._plan_wakes(now)
        self._alive_since = now
        self.started = True

    async def stop(self) -> None:
        """Stop every airing, relays and amplifiers off; their rows stay open for the next start."""
        self.waker.shutdown()
        for task in self._tasks.values():
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for error in await self.ctx.bank.drive_off(self._all_refs()):
            log.error("shutdown safe state: %s", error)

    def on_mqtt_connection(self, connected: bool) -> None:
        """Back on the broker with nothing on air: drive every relay to its safe state again,
        in case an OFF was lost while the broker was unreachable."""
        if connected and self.started and not self.runners:
            task = asyncio.create_task(self._safe_state("reconnect"))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

    async def _safe_state(self, why: str) -> None:
        for error in await self.ctx.bank.drive_off(self._all_refs()):
            log.error("%s safe state: %s", why, error)

    # -- decisions -----------------------------------------------------------------------------

    def blackouts(self) -> list[Blackout]:
        found = blackouts_from_config(self.ctx.config)
        for source in self._blackout_sources:
            found.extend(source())
        return found

    def add_blackout_source(self, source: Callable[[], list[Blackout]]) -> None:
        self._blackout_sources.append(source)

    def airings(self, begin: datetime, until: datetime) -> list[Airing]:
        return airings_between(self.ctx.config, self.blackouts(), begin, until)

    async def reconcile(self) -> None:
        """Called by the waker at each airing's wake time and every 30 s as a watchdog."""
        now = self.ctx.clock.now()
        self._act(self._due(now))
        self._plan_wakes(now)
        self.ctx.store.set_state("last_alive", now.isoformat())

    def _due(self, now: datetime, exclude: set[str] | None = None) -> list[Action]:
        tz = self.ctx.config.station.tz
        handled = self.ctx.store.known_airings((now - 2 * LOOKAROUND).astimezone(tz))
        handled |= set(self._tasks)
        handled -= exclude or set()
        airings = self.airings(now - LOOKAROUND, now + LOOKAROUND)
        return due_actions(airings, now, self.timing, handled, self._alive_since)

    def _act(self, actions: list[Action], orphans: set[str] | None = None) -> None:
        for action in actions:
            a = action.airing
            if action.kind == "missed":
                outcome: Outcome = "failed" if orphans and a.id in orphans else "missed"
                self.ctx.store.open_rows(
                    a.id, a.slot, a.playlist, a.start, a.end, [(z.zone, z.end) for z in a.zones]
                )
                self.ctx.store.close_open(a.id, outcome, action.reason)
                log.warning("airing %s %s: %s", a.id, outcome, action.reason)
                continue
            runner = AiringRunner(a, action.kind, self.ctx)
            self.runners[a.id] = runner
            task = asyncio.create_task(self._run(runner), name=f"airing {a.id}")
            self._tasks[a.id] = task
            log.info("airing %s: %s", a.id, action.kind)

    async def _run(self, runner: AiringRunner) -> None:
        try:
            await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("airing %s crashed", runner.airing.id)
            self.ctx.store.close_open(
                runner.airing.id, "failed", f"内部错误 / internal error: {exc}"
            )
            await self.ctx.bank.drive_off(self._refs_of([runner.airing]))
        finally:
            self._tasks.pop(runner.airing.id, None)
            self.runners.pop(runner.airing.id, None)

    def _plan_wakes(self, now: datetime) -> None:
        for airing in self.airings(now, now + LOOKAROUND):
            wake = self.timing.wake_at(airing)
            if wake > now:
                self.waker.at(wake, airing.id, self.reconcile)

    # -- relays --------------------------------------------------------------------------------

    def _all_refs(self) -> list[str]:
        refs = [r for z in self.ctx.config.zones for r in z.relays]
        return refs + self.ctx.chain.refs

    def _refs_of(self, airings: list[Airing]) -> set[str]:
        if not airings:
            return set()
        zones = {z.id: z for z in self.ctx.config.zones}
        refs = {r for a in airings for p in a.on_air_zones for r in zones[p.zone].relays}
        return refs | set(self.ctx.chain.refs)
