"""What a running airing is while it runs, and how it is written down: the context runners
share, the live state the status API shows, the as-run rows it opens and the relay switches
and clips it records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from controller.alerts.events import Alert
from controller.config.models import Config, ZoneConfig
from controller.config.playlists import Playlist
from controller.core.clock import Clock
from controller.media.resolve import ClipSource, Shuffler
from controller.planning.planner import Airing
from controller.playout.player import ClipFailed, ClipFinished, ClipStarted, PlayerEvent
from controller.station.asrun_writer import AsRunJournal
from controller.station.relaybank import PowerChain, RelayBank, ZoneSwitch

RunKind = Literal["start", "join", "resume"]


@dataclass
class RunnerContext:
    config: Config
    clock: Clock
    store: AsRunJournal
    bank: RelayBank
    chain: PowerChain
    playlists: dict[str, Playlist]
    new_player: Any  # Callable[[Callable[[PlayerEvent], None]], Player]
    library: ClipSource
    shuffler: Shuffler = field(default_factory=Shuffler)
    # One audio output: one player at a time; the next waits for the last one's final frame.
    output_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set by the station: the zones an ending airing hands over to the next one, and a call
    # when an airing's audio is over (so a displaced airing resumes at once).
    next_zones: Callable[[Airing, AiringState], set[str]] | None = None
    on_air_free: Callable[[], None] | None = None
    # Recent faults of the air (late starts, clock steps) for the status API: (when, text).
    faults: list[tuple[datetime, str]] = field(default_factory=list)
    # Faults that go out to the people on duty (controller/alerts): never blocks.
    notify: Callable[[Alert], None] | None = None

    def fault(self, text: str, at: datetime | None = None) -> None:
        """A fault of the air for the status (the last 50 are kept), at `at` or now."""
        self.faults.append((at or self.clock.now(), text))
        del self.faults[:-50]


@dataclass
class ZoneLive:
    zone: ZoneConfig
    end: datetime
    relay: str = "off"  # off | confirmed | commanded | failed
    on_air: bool = False


@dataclass
class AiringState:
    """What the status API shows about a running airing."""

    airing: Airing
    kind: RunKind
    phase: str = "waking"  # waking | power_on | zones_on | on_air | closing | done
    zones: dict[str, ZoneLive] = field(default_factory=dict)
    clips: list[dict[str, Any]] = field(default_factory=list)
    audio_start: datetime | None = None
    dead_air: bool = False  # silence inside a clip for longer than monitor.silence_s, now

    def continue_record(self, previous: list[Any]) -> None:
        """A join after a restart: the record keeps the clips that aired before it (rows of
        the same airing, `previous`), and the join's clips follow them."""
        own = next((r for r in previous if r.airing_id == self.airing.id and r.clips), None)
        self.clips = [dict(clip) for clip in own.clips] if own is not None else []

    def note_clip(self, event: PlayerEvent, name: Callable[[Path], str], at: str) -> bool:
        """Keep the clip list up to date; True if the event changed it."""
        if isinstance(event, ClipStarted):
            entry = {"index": event.index, "file": name(event.path), "started": at}
            self.clips.append({**entry, "complete": False})
        elif isinstance(event, ClipFinished) and self.clips:
            self.clips[-1]["complete"] = event.complete
        elif isinstance(event, ClipFailed):
            entry = {"index": event.index, "file": name(event.path), "error": event.reason}
            self.clips.append({**entry, "complete": False})
        else:
            return False
        return True


def open_record(store: AsRunJournal, a: Airing) -> None:
    """The airing's rows, one per zone; zones a blackout holds are closed `blacked_out` now."""
    store.open_rows(
        a.id, a.slot, a.playlist, a.start, a.end, [(z.zone, z.end) for z in a.zones],
        source=a.source, priority=a.priority, exercise=a.exercise,
    )  # fmt: skip
    for z in a.zones:
        if z.status == "blackout":
            store.update(a.id, [z.zone], outcome="blacked_out", reason=z.blackout, state="done")


def record_switch(store: AsRunJournal, airing_id: str, sw: ZoneSwitch) -> None:
    prefix = "relay_on" if sw.on else "relay_off"
    fields = {f"{prefix}_at": sw.at.isoformat(), prefix: sw.result}
    store.update(airing_id, [sw.zone], **fields)
