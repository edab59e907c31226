"""What the API process holds: the station's stores and the engine it asks (DESIGN §3).
Routers take it from here; only the app factory (controller/api/app.py) builds one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from controller.access.users import UserStore
from controller.alerts.outbox import AlertOutbox
from controller.config import LoadedConfig
from controller.core.clock import Clock, SystemClock
from controller.engine.port import Engine
from controller.media.library import MediaLibrary
from controller.media.lowprio import low_priority_ffmpeg
from controller.overrides.store import OverrideStore
from controller.planning.planner import Blackout, blackouts_from_config
from controller.playout.decode import find_ffmpeg
from controller.records.asrun_store import Store
from controller.records.audit import AuditLog
from controller.records.blackouts import BlackoutStore

if TYPE_CHECKING:
    from controller.engine.parts import EngineParts


@dataclass
class Services:
    """What the API process holds: the station's stores and the engine it asks (DESIGN §3).
    `local` is the engine itself when it runs in this process (tests, `--single-process`)."""

    loaded: LoadedConfig
    clock: Clock
    store: Store
    users: UserStore
    audit: AuditLog
    media: MediaLibrary
    blackouts: BlackoutStore
    overrides: OverrideStore
    alerts: AlertOutbox
    engine: Engine
    local: EngineParts | None = None

    def all_blackouts(self) -> list[Blackout]:
        """Config blackouts and those entered through the API (what the engine applies)."""
        return [*blackouts_from_config(self.loaded.config), *self.blackouts.active()]

    def close(self) -> None:
        for closing in (
            self.store, self.users, self.audit, self.media, self.blackouts, self.overrides,
            self.alerts,
        ):  # fmt: skip
            closing.close()


def build_services(loaded: LoadedConfig, engine: Engine, clock: Clock | None = None) -> Services:
    cfg = loaded.config
    clock = clock or SystemClock()
    db = cfg.station.data_dir / "broadcastctl.sqlite3"
    # Decoding an upload runs at the lowest priority, its memory capped (issue 9).
    run_dir, memory_mb = cfg.station.data_dir / "run", cfg.media.ffmpeg_memory_mb
    ffmpeg = low_priority_ffmpeg(find_ffmpeg(), run_dir, memory_mb)
    home = cfg.station.library_home
    media = MediaLibrary(db, home, cfg.media, legacy=cfg.station.media_dir, ffmpeg=ffmpeg)
    sweep_uploads(home / "tmp")
    return Services(
        loaded, clock, Store(db), UserStore(db), AuditLog(db, clock), media,
        BlackoutStore(db, clock), OverrideStore(db, clock), AlertOutbox(db), engine,
    )  # fmt: skip


def sweep_uploads(tmp_dir: Path) -> None:
    """Remove upload temp files a crash left behind (the API removes its own otherwise)."""
    for leftover in tmp_dir.glob("upload-*"):
        leftover.unlink(missing_ok=True)
