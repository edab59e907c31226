"""What an airing's rows say as it runs and when it is over: the audio start, clips and late
starts the player reports, and the outcome each row is closed with.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from controller.alerts.events import dead_air
from controller.core.clock import wall_at
from controller.planning.planner import Airing
from controller.playout.player import AudioStarted, PlayerEvent, PlayResult
from controller.playout.player_types import Clipping, DeadAir
from controller.records.asrun_store import SHUTDOWN_MISSED, SHUTDOWN_STOPPED, Outcome
from controller.station.late_zones import LateZones
from controller.station.live import AiringState, RunKind, RunnerContext, ZoneLive

log = logging.getLogger(__name__)

DONE_AS: dict[RunKind, Outcome] = {"start": "aired", "join": "joined", "resume": "resumed"}


class RecordHost(Protocol):
    """What AiringRecord needs of its airing's runner (kept narrow: no import of the runner)."""

    ctx: RunnerContext
    airing: Airing
    kind: RunKind
    state: AiringState
    late: LateZones
    notes: list[str]

    def media_name(self, path: Path) -> str: ...

    def now_iso(self) -> str: ...


class AiringRecord:
    def __init__(self, runner: RecordHost) -> None:
        self._runner = runner

    def on_player_event(self, event: PlayerEvent) -> None:
        """On the event loop: what the player reports goes into the rows of the zones on air."""
        runner = self._runner
        if runner.state.phase == "done":  # a straggler after shutdown: the record is closed
            return
        a, store = runner.airing, runner.ctx.store
        zones = [z.zone.id for z in runner.state.zones.values() if z.on_air]
        if isinstance(event, AudioStarted):
            first = event.first_frame_wall or wall_at(runner.ctx.clock, event.first_frame_mono)
            runner.state.audio_start = first
            self._note_late_start(event)
            start = first.astimezone(runner.ctx.config.station.tz)
            store.update(
                a.id, zones, audio_start=start.isoformat(timespec="microseconds"), state="on_air"
            )
            return
        if isinstance(event, DeadAir | Clipping):
            self._note_level(event, zones)
            return
        if runner.state.note_clip(event, runner.media_name, runner.now_iso()):
            store.update(a.id, zones, clips=runner.state.clips)

    def _note_level(self, event: DeadAir | Clipping, zones: list[str]) -> None:
        """Dead air begins or ends, or the audio clips: a fault the status shows (the dead
        air while it lasts), and the rows flagged at once, not only when the airing ends."""
        runner = self._runner
        ctx, a = runner.ctx, runner.airing
        into = event.at_frame / ctx.config.audio.sample_rate
        if isinstance(event, Clipping):
            text = f"播出 {a.id} 音频削波（第 {into:.1f} 秒起）/ clipping from {into:.1f} s in"
        elif event.ended:
            runner.state.dead_air = False
            log.warning("airing %s: dead air ended after %.1f s", a.id, event.seconds)
            return
        else:
            runner.state.dead_air = True
            silence = ctx.config.monitor.silence_s
            text = (f"播出 {a.id} 静音超过 {silence:g} 秒（第 {into:.1f} 秒起）/ dead air: "
                    f"silence for over {silence:g} s from {into:.1f} s in")  # fmt: skip
            ctx.store.update(a.id, zones, dead_air=1)
            if ctx.notify is not None:
                ctx.notify(dead_air(a.id, silence, ctx.clock.now()))
        log.warning("%s", text)
        ctx.fault(text)

    def _note_late_start(self, event: AudioStarted) -> None:
        runner = self._runner
        ctx = runner.ctx
        if event.late_cause is not None:
            late = event.late_ms or 0.0
            runner.notes.append(
                f"迟播 {late:.0f} 毫秒 / late start {late:.0f} ms: {event.late_cause}"
            )
            ctx.fault(
                f"播出 {runner.airing.id} 迟播 {late:.0f} 毫秒 / late start {late:.0f} ms: "
                f"{event.late_cause}"
            )
        if event.padded_frames:
            pad = event.padded_frames / ctx.config.audio.sample_rate
            runner.notes.append(f"开头静音 {pad:.2f} 秒 / began with {pad:.2f} s of silence")

    def close_for_shutdown(self) -> None:
        """The daemon stops: `stopped` if audio went out, `missed` if not."""
        runner = self._runner
        store = runner.ctx.store
        runner.late.close_unreached()
        if runner.state.audio_start is not None:
            store.close_open(
                runner.airing.id, "stopped", SHUTDOWN_STOPPED, audio_end=runner.now_iso()
            )
        else:
            store.close_open(runner.airing.id, "missed", SHUTDOWN_MISSED)

    def audio_over(self, result: PlayResult | None, live: list[ZoneLive]) -> str:
        """The audio is over (before the zones go off): the rows of the `live` zones get the
        frames written, zones never reached are failed. Returns when the audio ended, in the
        station's time, as the record writes it."""
        runner = self._runner
        tz = runner.ctx.config.station.tz
        # The end is the first frame plus the frames written: a wall-clock step during the
        # airing can never make the record show an impossible length (issue 9).
        ended = result.audio_end_wall if result else None
        if ended is None and result is not None and result.last_frame_mono is not None:
            ended = wall_at(runner.ctx.clock, result.last_frame_mono)
        end_wall = (
            ended.astimezone(tz).isoformat(timespec="microseconds") if ended else runner.now_iso()
        )
        if result is not None:
            runner.ctx.store.update(
                runner.airing.id, [z.zone.id for z in live], frames=result.frames_written
            )
        runner.late.close_unreached()
        return end_wall

    def close_played(self, result: PlayResult, live: list[ZoneLive], end_wall: str) -> None:
        """The audio is over and the zones are off: each row closes with how it aired."""
        runner = self._runner
        a, store = runner.airing, runner.ctx.store
        outcome = DONE_AS[runner.kind]
        levels = _level_notes(result)
        if levels:
            silence, clipped = round(result.silence_s, 2), round(result.clipped_s, 2)
            zones = [z.zone.id for z in live]
            store.update(
                a.id, zones, silence_s=silence, clipped_s=clipped, dead_air=int(silence > 0)
            )
        if result.reason in ("complete", "cut"):
            for zone in live:
                plan = next(z for z in a.zones if z.zone == zone.zone.id)
                if plan.status == "cut":
                    reason = f"静默期 / blackout: {plan.blackout}"
                    store.close_open(a.id, "cut", reason, zones=[plan.zone], audio_end=end_wall)
            broken, covered = runner.ctx.chain.verdict([z.zone.id for z in live])
            notes = [
                *runner.notes,
                *covered,
                *levels,
                *([str(result.error)] if result.error else []),
            ]
            if result.only_silence:  # every clip failed, or is silence: nothing was heard
                reason = "; ".join(["只播出了静音 / aired only silence", *notes])
                store.close_open(a.id, "failed", reason, audio_end=end_wall)
            for zone_id, why in sorted(broken.items()):  # its amplifier never confirmed ON
                reason = "; ".join([why, *notes])
                store.close_open(a.id, "failed", reason, zones=[zone_id], audio_end=end_wall)
            for zone_id in sorted(runner.late.late_s):
                late_notes = "; ".join([*notes, runner.late.note(zone_id) or ""])
                store.close_open(a.id, outcome, late_notes, zones=[zone_id], audio_end=end_wall)
            store.close_open(a.id, outcome, "; ".join(notes), audio_end=end_wall)
        else:
            store.close_open(
                a.id, "failed", f"音频中断 / audio ended: {result.reason} {result.error or ''}"
            )


def _level_notes(result: PlayResult) -> list[str]:
    notes = []
    if result.silence_s:
        notes.append(f"静音 {result.silence_s:.1f} 秒 / {result.silence_s:.1f} s of dead air")
    if result.clipped_s:
        notes.append(f"削波 {result.clipped_s:.1f} 秒 / {result.clipped_s:.1f} s clipped")
    return notes
