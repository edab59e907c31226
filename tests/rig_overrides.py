"""The override tests' station, running in process: fake relays on two zones and an amplifier,
air-check files, a fake screen, an approved 1.5 s alarm clip and a user per role; an app per
station on the virtual clock (tests/clocks.py), whose test thread holds the clock, so virtual
time moves only while it pauses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clocks import VirtualAlarm, VirtualClock
from fastapi.testclient import TestClient
from media_files import tone
from peers.daemon import SH, StationDir

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config
from controller.media.library import MediaLibrary


def make_station(
    tmp: Path, slots: list[dict[str, Any]], blackouts: list[dict[str, Any]] | None = None
) -> tuple[StationDir, dict[str, str], str]:
    station = StationDir(tmp)
    station.write_config(
        {
            "audio": {"output": {"type": "file", "dir": "var/aircheck"}, "fade_out_s": 0.2,
                      "gap_s": 0.2},
            "relays": [{"id": "v", "type": "fake", "channels": 3}],
            "amplifiers": [{"relay": "v:3"}],
            "zones": [
                {"id": "east", "name": "东村", "relays": ["v:1"]},
                {"id": "west", "name": "西村", "relays": ["v:2"]},
            ],
            "schedule": {"preroll_s": 0.5, "postroll_s": 0.2, "min_join_s": 1, "slots": slots},
            "displays": [{"id": "square", "type": "fake", "width": 128, "height": 32}],
            "led": {"dwell_s": 30},
            "blackouts": blackouts or [],
        }
    )  # fmt: skip
    cfg = load_config(station.root / "config.yaml").config
    library = MediaLibrary(station.db, cfg.station.media_dir, cfg.media)
    clip, _ = library.ingest(tone(tmp / "alarm.wav", seconds=1.5, freq=800), title="紧急",
                             uploader="police1", source="upload", original_name="alarm.wav",
                             tags=["紧急"], approved=True)  # fmt: skip
    library.close()
    users = UserStore(station.db)
    tokens = {role: users.add(f"u-{role}", role) for role in ("admin", "operator", "police")}
    users.close()
    return station, tokens, clip.id


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def soon(clock: VirtualClock, seconds: float) -> datetime:
    return clock.now().astimezone(SH).replace(microsecond=0) + timedelta(seconds=seconds)


@pytest.fixture
def client_for(clock: VirtualClock, me: VirtualAlarm) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(station: StationDir) -> TestClient:
        app = create_app(load_config(station.root / "config.yaml"), clock)
        client = TestClient(app, backend_options=dict(clock.backend()))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        with contextlib.suppress(RuntimeError):  # one a test stopped itself
            client.__exit__(None, None, None)


def rows_by(station: StationDir) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["airing_id"], r["zone"]): r for r in station.rows()}
