"""The airing runner: one airing from power-up to the record's last line (DESIGN.md §2.1–2.5),
step by step. Its relays are switched by `airing_relays`, its rows written by `airing_record`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controller.core.airing_id import AiringId
from controller.core.clock import waiting, wall_to_mono
from controller.planning.planner import Airing
from controller.playout.player import Player, PlayerEvent, PlayResult
from controller.records.asrun_store import Outcome
from controller.station.airing_record import AiringRecord
from controller.station.airing_relays import AiringRelays
from controller.station.airing_tasks import AiringTasks
from controller.station.late_zones import LateZones
from controller.station.live import AiringState, RunKind, RunnerContext, ZoneLive, open_record
from controller.station.programme import Programme, airing_program, media_name, programme_for

log = logging.getLogger(__name__)

# The air is free: the station decides at once who goes on next (a displaced airing resumes).
RESUME_LEAD_S = 0.3


class AiringRunner:
    def __init__(self, airing: Airing, kind: RunKind, ctx: RunnerContext) -> None:
        self.airing = airing
        self.kind = kind
        self.ctx = ctx
        self.clock = waiting(ctx.clock)  # every wait of the airing is the clock's
        self.state = AiringState(airing, kind)
        self.player: Player | None = None
        self.programme: Programme | None = None
        self.notes: list[str] = []
        self._loop = asyncio.get_running_loop()
        # Set by end(): (outcome, reason, zones to leave on for the airing that takes over).
        self._ending: tuple[Outcome, str, set[str]] | None = None
        self._rewait = asyncio.Event()  # set when ended or when the wall clock steps
        self._end_mono: float | None = None  # the audio's last instant, once the player has it
        # Every background task of this airing (dead-man re-arm, blackout cuts): run() does not
        # return before each of them has finished (DESIGN.md §2.10: no task outlives its airing).
        self._tasks = AiringTasks(self.clock)
        self.late = LateZones(self)  # zones whose relays could not be reached at switch-on
        self.relays = AiringRelays(self, self._tasks)
        self.record = AiringRecord(self)
        zones = {z.id: z for z in ctx.config.zones}
        for plan in airing.on_air_zones:
            self.state.zones[plan.zone] = ZoneLive(zones[plan.zone], plan.end)

    @property
    def holds_air(self) -> bool:
        """Whether this airing has (or is about to have) the air: not ending, not closing."""
        return self._ending is None and self.state.phase not in ("closing", "done")

    @property
    def base_id(self) -> str:
        """The airing's id without its resume segment (`<id>#r<n>` → `<id>`)."""
        return AiringId.base_of(self.airing.id)

    @property
    def ended(self) -> bool:
        """Whether end() was called (preempted or stopped)."""
        return self._ending is not None

    def end(self, outcome: Outcome, reason: str, keep: set[str] | None = None) -> None:
        """End the airing now (preempted by a higher one, or stopped by an operator): a short
        ramp, zones off but those in `keep`, the record says `outcome` and why."""
        if self._ending is not None or self.state.phase == "done":
            return
        self._ending = (outcome, reason, set(keep or ()))
        self._rewait.set()
        if self.player is not None:
            self.player.stop()

    def replan(self, fresh: Airing) -> None:
        """The plan changed while on air (a blackout entered now): zones whose end moved
        earlier are cut at the new end; if all are, the audio fades out there."""
        if fresh.id != self.airing.id or self._ending is not None:
            return
        now = self.ctx.clock.now()
        plans = self.relays.cut_earlier(fresh, now)
        old_end = self.airing.audio_end
        self.airing = replace(fresh, zones=tuple(plans))
        self.state.airing = self.airing
        if self.airing.audio_end < old_end and self.player is not None:
            at = max(self.airing.audio_end, now)
            self.player.cut(wall_to_mono(self.ctx.clock, at), fade_s=1.0)

    # -- the airing, step by step ------------------------------------------------------------

    async def run(self) -> None:
        """Run the airing to its end. Cancelled (the daemon stops), it switches everything off
        and only then closes its rows: `stopped` if audio went out, `missed` if not."""
        try:
            await self._run()
        except asyncio.CancelledError:
            self.record.close_for_shutdown()
            raise

    async def _run(self) -> None:
        a, store, sched = self.airing, self.ctx.store, self.ctx.config.schedule
        open_record(store, a)
        if not self.state.zones:
            self.state.phase = "done"
            return
        previous = store.segment_rows(self.base_id)
        self.programme = programme = programme_for(self.airing, self.ctx)
        if not programme.clips:
            reason = f"节目单无可播内容 / playlist {a.playlist!r} resolved to nothing"
            store.close_open(a.id, "failed", reason)
            self.state.phase = "done"
            return
        if programme.used_fallback:
            self.notes.append(f"使用备用节目单 / fallback playlist {programme.playlist.name!r}")
        if a.exercise:
            self.notes.append("演练 / exercise")
        if self.kind == "join":
            self.state.continue_record(previous)
            store.update(a.id, list(self.state.zones), joined_at=self.now_iso())
        chain_at = a.start - timedelta(seconds=sched.preroll_s + self.ctx.chain.settle_s)
        try:
            if not await self._wait_until(chain_at):
                self._close_ending()
                return
            self.state.phase = "power_on"
            await self.ctx.chain.acquire(
                self.deadman_until(a.audio_end + timedelta(seconds=sched.postroll_s))
            )
            try:
                await self._air(previous)
                if self._ending is None:
                    await self.clock.sleep(sched.postroll_s)
            finally:
                await self.ctx.chain.release()  # also when cancelled during the postroll
        finally:
            self.state.phase = "done"
            await self._tasks.close()
            if self._ending is not None:  # ended, then shut down before the record was closed
                ended_as, why, _ = self._ending
                self.ctx.store.close_open(self.airing.id, ended_as, why)

    async def _air(self, previous: list[Any]) -> None:
        a, sched = self.airing, self.ctx.config.schedule
        if not await self._wait_until(a.start - timedelta(seconds=sched.preroll_s)):
            self._close_ending()
            return
        self.state.phase = "zones_on"
        live = await self.relays.switch_on()
        if not live and not self.late.waiting:
            return
        if self._ending is not None:
            await self._finish(None)
            return
        self.state.phase = "on_air"
        rearm = self._tasks.spawn(self.relays.rearm_loop, f"re-arm {a.id}")
        reach = (
            self._tasks.spawn(self.late.loop, f"late zones {a.id}") if self.late.waiting else None
        )
        for z in live:
            if z.end < a.audio_end:
                self.spawn_cut(z)
        try:
            result = await self._play(previous)
        except BaseException:
            # Shut down (or crashed): safe state first, the record after (run() closes it).
            if self.player:
                self.player.stop()
            await self._tasks.close()
            await self.relays.switch_off([z for z in self.state.zones.values() if z.on_air])
            raise
        finally:
            # Stopped and awaited before any zone or amplifier goes off: a re-arm that ran on
            # after the chain's OFF would switch the amplifiers back on (issue 9).
            if reach is not None:
                await self._tasks.halt(reach)
            await self._tasks.halt(rearm)
        self.state.phase = "closing"
        await self._finish(result)

    async def _play(self, previous: list[Any]) -> PlayResult:
        a, cfg = self.airing, self.ctx.config
        programme = self.programme
        assert programme is not None  # set by run() before the airing powers up
        async with self.ctx.output_lock:
            now = self.ctx.clock.now()
            start = a.start
            if self.kind != "start" or now > a.start:
                lead = RESUME_LEAD_S if self.kind == "resume" else 0.5
                start = max(a.start, now + timedelta(seconds=lead))
            program = airing_program(
                a, self.kind, programme, cfg, wall_to_mono(self.ctx.clock, start), start, now,
                programme.resume_index(previous, cfg.station.clip_roots),
            )  # fmt: skip
            self._end_mono = program.start_mono + program.total_frames / cfg.audio.sample_rate
            self.player = self.ctx.new_player(self._on_player_event)
            self.player.start(program)
            if self._ending is not None:  # ended while waiting for the output
                self.player.stop()
            # Awaited on the loop, not in the shared thread pool (which the API may exhaust).
            return await self.player.wait_async()

    async def _finish(self, result: PlayResult | None) -> None:
        a, store = self.airing, self.ctx.store
        live = [z for z in self.state.zones.values() if z.on_air]
        end_wall = self.record.audio_over(result, live)
        if self._ending is not None:
            ended_as, why, keep = self._ending
            await self.relays.switch_off([z for z in live if z.zone.id not in keep], handed=keep)
            store.close_open(a.id, ended_as, why, audio_end=end_wall if result else None)
            self._air_free()
            return
        assert result is not None
        keep = self.ctx.next_zones(self.airing, self.state) if self.ctx.next_zones else set()
        await self.relays.switch_off([z for z in live if z.zone.id not in keep], handed=keep)
        self._air_free()
        self.record.close_played(result, live, end_wall)

    def _close_ending(self) -> None:
        """Ended before anything went on air: the rows say so."""
        if self._ending is not None:
            outcome, reason, _ = self._ending
            self.ctx.store.close_open(self.airing.id, outcome, reason)
        self._air_free()

    def _air_free(self) -> None:
        if self.ctx.on_air_free is not None:
            self.ctx.on_air_free()

    def spawn_cut(self, zone: ZoneLive) -> None:
        self.relays.spawn_cut(zone)

    def media_name(self, path: Path) -> str:
        return media_name(self.ctx.config.station.clip_roots, path)

    # -- helpers -------------------------------------------------------------------------------

    def _on_player_event(self, event: PlayerEvent) -> None:
        """Called on the player thread; the record is written on the event loop."""
        self._loop.call_soon_threadsafe(self._record_event, event)

    def _record_event(self, event: PlayerEvent) -> None:
        """A record that cannot take what the player says (a write refused, a fault of ours)
        must not leave an airing going on unrecorded: it stops, safely, and says why."""
        try:
            self.record.on_player_event(event)
        except Exception as exc:
            log.exception("airing %s: the record refused %r", self.airing.id, event)
            why = f"播出记录写入出错，已安全停播 / the record could not be written ({exc}): stopped"
            self.ctx.fault(f"播出 {self.airing.id}: {why}")
            self.end("failed", why)

    def reach_now(self) -> None:
        """The broker is back: zones not yet reached are tried at once."""
        self.late.kick()

    def deadman_until(self, until: datetime) -> float:
        """Seconds the device keeps the relay on by itself: to `until` plus the margin. Once
        the audio's end is known on the monotonic clock it counts from there, so a wall-clock
        step cannot shorten the dead-man under a running airing."""
        if self._end_mono is not None:
            beyond = (until - self.airing.audio_end).total_seconds()
            left = self._end_mono + beyond - self.ctx.clock.monotonic()
        else:
            left = (until - self.ctx.clock.now()).total_seconds()
        return max(left, 0.0) + self.ctx.config.schedule.deadman_margin_s

    def clock_stepped(self, step_s: float) -> None:
        """The wall clock stepped: waits are computed again, and the record says so."""
        self.notes.append(f"系统时钟跳变 {step_s:+.1f} 秒 / wall clock stepped {step_s:+.1f} s")
        self._rewait.set()

    async def _wait_until(self, when: datetime) -> bool:
        """Sleep until `when` unless the airing is ended first; False if it was. A wall-clock
        step wakes the wait so that it is measured again against the new time."""
        while self._ending is None:
            self._rewait.clear()
            if await self.clock.wait_wall(when, self._rewait):
                break
        return self._ending is None

    def now_iso(self) -> str:
        tz = self.ctx.config.station.tz
        return self.ctx.clock.now().astimezone(tz).isoformat(timespec="microseconds")
