"""What an airing plays: the slot's playlist resolved from the library at airing time, the
clip a join resumes from, and the names the as-run record gives clips."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.config.models import Config
from controller.config.playlists import Playlist
from controller.core.clock import Clock
from controller.core.stationtime import file_stamp
from controller.media.resolve import ClipSource, Shuffler, resolve, resolve_with_fallback
from controller.planning.planner import Airing
from controller.playout.clipstream import Program

if TYPE_CHECKING:
    from controller.station.live import RunnerContext


def media_name(roots: Sequence[Path], path: Path) -> str:
    """How the record names a clip: its path under the first of `roots` that holds it (the
    library's home: library/<id>/…; the station's audio: sample/…), else its file name."""
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name


class Programme:
    """One airing's clips. `clips` is fixed at the start; `allowed` is asked at each clip
    boundary so that expiry and retirement take effect after the clip on air."""

    def __init__(
        self, playlist: str, playlists: Mapping[str, Playlist], library: ClipSource,
        clock: Clock, shuffler: Shuffler, fallback: str | None,
    ) -> None:  # fmt: skip
        self.library, self.clock = library, clock
        self.playlist = playlists[playlist]
        paths, self.used_fallback = resolve_with_fallback(
            playlist, playlists, library, clock.now(), fallback
        )
        if self.used_fallback and fallback:
            self.playlist = playlists[fallback]
        if self.playlist.order == "shuffle":  # one round, no repeats until all have played
            picks = [shuffler.next(self.playlist.name, paths) for _ in paths]
            paths = [p for p in picks if p is not None]
        self.clips = paths

    def allowed(self, path: Path) -> bool:
        """Called on the player thread at a clip boundary."""
        return path in resolve(self.playlist, self.library, self.clock.now())

    def resume_index(self, previous: list[Any], roots: Sequence[Path]) -> int:
        """A join restarts the clip that was playing when the last run stopped (a clip
        boundary); after a complete clip, the next one."""
        names = [media_name(roots, p) for p in self.clips]
        for row in previous:
            if row.clips and row.clips[-1].get("file") in names:
                last = row.clips[-1]
                index = names.index(last["file"])
                return (index + 1) % len(self.clips) if last.get("complete") else index
        return 0


def programme_for(a: Airing, ctx: RunnerContext) -> Programme:
    """An airing's programme: its playlist, or (an override) the library clips it names, with
    its own gap between clips. Only slots fall back; an override airs what it names or fails."""
    playlists, fallback = ctx.playlists, ctx.config.media.fallback_playlist
    if a.clips:
        listed = Playlist(name=a.playlist, title=a.slot, gap_s=a.gap_s, clips=(), listed=a.clips)
        playlists = {**playlists, a.playlist: listed}
    elif a.gap_s is not None and a.playlist in playlists:
        gapped = playlists[a.playlist].model_copy(update={"gap_s": a.gap_s})
        playlists = {**playlists, a.playlist: gapped}
    return Programme(
        a.playlist, playlists, ctx.library, ctx.clock, ctx.shuffler,
        fallback if a.source == "schedule" else None,
    )  # fmt: skip


def airing_program(
    a: Airing,
    kind: str,
    programme: Programme,
    cfg: Config,
    start_mono: float,
    start: datetime,
    now: datetime,
    first_clip: int,
) -> Program:
    """The Program the player airs: from `start` to the airing's audio end, looping with the
    playlist's gap, the fade ending on the end (1 s when a blackout cuts it short)."""
    rate = cfg.audio.sample_rate
    playlist = programme.playlist
    gap_s = cfg.audio.gap_s if playlist.gap_s is None else playlist.gap_s
    cut_short = a.audio_end < a.end
    fade_s = 1.0 if cut_short else cfg.audio.fade_out_s
    if a.fitted and not cut_short:  # the end falls in the silence after the last clip
        fade_s = min(fade_s, gap_s)
    total = max(round((a.audio_end - start).total_seconds() * rate), 0)
    return Program(
        clips=tuple(programme.clips),
        gap_s=gap_s,
        start_mono=start_mono,
        total_frames=total,
        fade_out_frames=min(round(fade_s * rate), total),
        first_clip=first_clip,
        allow=programme.allowed,
        label=_label(a, kind, now, cfg.station.tz),
    )


def _label(airing: Airing, kind: str, now: datetime, tz: tzinfo) -> str:
    """The air-check file's name: the airing's start on the station's clock and its slot; a
    join or a resumed segment adds the station time it began."""
    name = f"{file_stamp(airing.start, tz)}-{airing.slot}"
    suffix = {"join": "-join", "resume": "-resume"}.get(kind)
    return name + (f"{suffix}{file_stamp(now, tz)[-6:]}" if suffix else "")
