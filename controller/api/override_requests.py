"""The override desk: turns an operator's request (play now, emergency) into a stored override,
and ends overrides. The API is a thin layer over it; the station airs what it stores.

Lengths: an override runs for `duration_s`, or for its clips played `repeats` times (each clip
followed by its gap; the last gap holds the fade), and never past `expires`.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from controller.config.slogans import text_problem
from controller.core.airing_id import AiringId
from controller.core.stationtime import aware
from controller.engine.port import AiringStates, ScreenText
from controller.media.analyse import wav_header_seconds
from controller.media.resolve import resolve
from controller.overrides.store import Override, State, new_id
from controller.planning.planner import Source
from controller.playout.decode import find_ffmpeg
from controller.records.outcome import AiringView, airing_view

if TYPE_CHECKING:
    from controller.access.users import Principal
    from controller.api.services import Services

log = logging.getLogger(__name__)

MAX_AHEAD = timedelta(days=366)  # an override is for now or soon; further is a slot's job
# A start this far in the past is a mistake, not "now" (year 1 aired at once: issue 9); a
# few minutes cover a clock a little off and a form filled in slowly.
MAX_BEHIND = timedelta(minutes=5)
MIN_GAP_S = 0.5  # between repeats of a fitted override: room for its fade, a breath between
_DURATION = re.compile(r"Duration:\s*(\d+):(\d\d):(\d\d(?:\.\d+)?)")


class DeskError(ValueError):
    """A request that cannot be done; `status` is the HTTP status, the message bilingual."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Request:
    source: Source
    priority: int
    zones: Literal["all"] | list[str]
    playlist: str | None
    clips: list[str] | None
    start: datetime | None
    duration_s: float | None
    repeats: int | None
    gap_s: float | None
    expires: datetime | None
    reason: str
    led_text: str | None = None
    identifier: str | None = None
    cap: dict[str, object] | None = None
    exercise: bool = False


def view_of(svc: Services, o: Override, states: AiringStates | None = None) -> AiringView:
    """What the override's airing did, from its rows (controller/records/outcome.py) and the
    engine's answer (`states`, when the caller asked it once for many overrides). Cancelled
    before anything aired, it says so; stopped, its rows say how far it got."""
    rows = svc.store.segment_rows(o.airing_id)
    if o.state == "cancelled" and not rows:
        return AiringView("stopped", "已取消")
    states = states or svc.engine.airing_states()
    return airing_view(
        rows, now=svc.clock.now(), end=o.end, on_air=o.airing_id in states.on_air,
        waiting=o.state == "active" and o.airing_id in states.waiting,
        behind=sorted(states.on_air - {o.airing_id}),
    )  # fmt: skip


def describe(svc: Services, o: Override, states: AiringStates | None = None) -> dict[str, object]:
    view = view_of(svc, o, states)
    state = o.state if o.state != "active" else view.state
    return {**o.to_dict(svc.loaded.config.station.tz), "state": state, "aired": view.to_dict()}


def create(svc: Services, req: Request, who: Principal) -> tuple[Override, bool]:
    """Store the override (or find the one with the same identifier) and wake the station."""
    if req.identifier is not None:
        known = svc.overrides.by_identifier(req.identifier)
        if known is not None:
            return known, False
    return commit(svc, prepare(svc, req, who), who)


def prepare(svc: Services, req: Request, who: Principal) -> Override:
    """The override `req` asks for, checked through (zones, audio, times, screen text) and
    changing nothing: a request refused here has left no trace. Raises DeskError."""
    cfg = svc.loaded.config
    tz = cfg.station.tz
    zones = _zones(svc, req.zones)
    paths = _audio(svc, req)
    now = svc.clock.now()
    if req.start is not None:
        start = aware(req.start, tz)
        if start < now - MAX_BEHIND:
            minutes = int(MAX_BEHIND.total_seconds() // 60)
            raise DeskError(
                f"开始时间已过去超过 {minutes} 分钟 / start is more than {minutes} min in the past"
            )
        start = max(start, now + timedelta(seconds=svc.engine.lead_s(zones or _all(svc))))
    else:
        start = now + timedelta(seconds=svc.engine.lead_s(zones or _all(svc)))
    if start > now + MAX_AHEAD:
        days = MAX_AHEAD.days
        raise DeskError(f"开始时间须在 {days} 天以内 / start within {days} days")
    gap = req.gap_s
    fitted = req.duration_s is None
    if fitted:
        gap = max(gap if gap is not None else cfg.audio.gap_s, MIN_GAP_S)
        repeats = req.repeats or 1
        length = repeats * sum(_seconds(svc, p) + gap for p in paths)
    else:
        assert req.duration_s is not None
        length = req.duration_s
    end = start + timedelta(seconds=length)
    if req.expires is not None:
        expires = aware(req.expires, tz)
        if expires <= start:
            raise DeskError("已过期：失效时间早于开始时间 / expires before it could start")
        end = min(end, expires)
    override = Override(
        id=new_id(), source=req.source, priority=req.priority, start=start, end=end,
        zones=None if zones is None else tuple(zones), playlist=req.playlist,
        clips=tuple(req.clips or ()), gap_s=gap, reason=req.reason, created_by=who.user,
        created_at=now,
        identifier=req.identifier, cap=dict(req.cap or {}), led_text=req.led_text,
        exercise=req.exercise, fitted=fitted,
    )  # fmt: skip
    if req.led_text:
        problem = text_problem(_screen_text(override), cfg.displays)
        if problem is not None:
            raise DeskError(problem)
    return override


def commit(svc: Services, override: Override, who: Principal) -> tuple[Override, bool]:
    """Store a prepared override, show its text, wake the station."""
    stored, created = svc.overrides.add(override)
    if created:
        if stored.led_text:
            _show(svc, stored, who)
        svc.engine.kick()
    return stored, created


def end(svc: Services, o: Override, who: Principal, reason: str) -> Override | None:
    """Stop an override on air, or cancel one not yet on air; screens drop its text."""
    why = f"{reason}（{who.user}）"
    stopped = svc.engine.stop_airing(o.airing_id, f"停播 / stopped: {why}")
    state: State = "stopped" if stopped else "cancelled"
    svc.engine.withdraw(o.id)
    done = svc.overrides.end(o.id, state, who.user, reason)
    svc.engine.kick()
    return done


def stop_all(svc: Services, who: Principal, reason: str) -> list[str]:
    """停播: stop what is on air now; later slots and overrides stay."""
    ids = svc.engine.stop_air(f"停播 / stopped: {reason}（{who.user}）")
    for airing_id in ids:
        override_id = AiringId.parse(airing_id).override_id
        if override_id is None:
            continue  # a slot: nothing to mark
        o = svc.overrides.get(override_id)
        if o is not None:
            svc.engine.withdraw(o.id)
            svc.overrides.end(o.id, "stopped", who.user, reason)
    return ids


def _screen_text(o: Override) -> str:
    assert o.led_text is not None
    return ("演练：" if o.exercise else "") + o.led_text


def _show(svc: Services, o: Override, who: Principal) -> None:
    text = _screen_text(o)
    minutes = max((o.end - o.start).total_seconds() / 60.0, 0.01)  # as long as it airs
    try:
        svc.engine.push_message(
            ScreenText(text, None, minutes, who.user, "red", o.priority, o.id, o.start)
        )
    except ValueError as exc:  # checked in prepare(): the engine's screens differ from ours
        log.error("紧急字幕未能上屏 / screen text of %s not shown: %s", o.id, exc)


def _all(svc: Services) -> list[str]:
    return [z.id for z in svc.loaded.config.zones]


def _zones(svc: Services, zones: Literal["all"] | list[str]) -> list[str] | None:
    if zones == "all":
        return None
    if not zones:
        raise DeskError('区域不能为空 / zones must be "all" or a non-empty list')
    unknown = sorted(set(zones) - set(_all(svc)))
    if unknown:
        raise DeskError(f"未知区域 {', '.join(unknown)} / unknown zones {unknown}")
    return list(dict.fromkeys(zones))


def _audio(svc: Services, req: Request) -> list[Path]:
    """The files the override would air now; 422 if there are none."""
    now = svc.clock.now()
    if (req.playlist is None) == (req.clips is None):
        raise DeskError("须指定节目单或音频片段之一 / give either a playlist or clips")
    if req.duration_s is not None and req.repeats is not None:
        raise DeskError("时长与重复次数只能给一个 / give duration_s or repeats, not both")
    if req.clips is not None:
        paths = []
        for clip_id in req.clips:
            clip = svc.media.get(clip_id)
            if clip is None:
                raise DeskError(f"没有音频 {clip_id} / no clip {clip_id!r}", 404)
            if not clip.playable(now):
                raise DeskError(
                    f"音频 {clip_id} 未审核或不在有效期内 / clip {clip_id} is not approved or"
                    " not valid now"
                )
            paths.append(clip.path)
        if not paths:
            raise DeskError("音频片段不能为空 / clips must not be empty")
        return paths
    assert req.playlist is not None
    playlist = svc.loaded.playlists.get(req.playlist)
    if playlist is None:
        raise DeskError(f"没有节目单 {req.playlist} / no playlist {req.playlist!r}", 404)
    found = resolve(playlist, svc.media, now)
    if not found:
        raise DeskError(f"节目单 {req.playlist} 现无可播内容 / playlist has nothing to air now")
    return found


def _seconds(svc: Services, path: Path) -> float:
    """A clip's length: the library knows its clips'; a station file is read or probed."""
    for clip in svc.media.list():
        if clip.path == path:
            return float(clip.duration_s)
    if path.suffix.lower() == ".wav":
        seconds = wav_header_seconds(str(path))
        if seconds is not None:
            return seconds
    return probe_seconds(path)


def probe_seconds(path: Path) -> float:
    out = subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    found = _DURATION.search(out.stderr)
    if found is None:
        raise DeskError(f"无法读取时长 / cannot tell how long {path.name} is")
    h, m, s = found.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


def references(svc: Services, identifiers: Sequence[str]) -> list[Override]:
    found = [svc.overrides.by_identifier(i) for i in identifiers]
    return [o for o in found if o is not None]
