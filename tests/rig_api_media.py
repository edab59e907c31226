"""The media API tests' station: a copy of the shipped one with a small upload limit, a rule
playlist and a user per role (and a second police officer), on a clock at 03:00; test tones,
made once for each module that uses them."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from media_files import tone
from peers.daemon import ROOT, SH

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config

MAX_MB = 0.25  # 262 144 bytes
MEDIA = f"media: {{max_upload_mb: {MAX_MB}, min_s: 1}}\n"
POLICE_PLAYLIST = "title: 警方提醒\norder: shuffle\nselect: {tags: [反诈]}\n"


class NightClock:
    """03:00 station time: no slot is near, so nothing airs during the test."""

    def now(self) -> datetime:
        return datetime(2027, 6, 1, 3, 0, tzinfo=SH)

    def monotonic(self) -> float:
        return time.monotonic()


class Station:
    """A copy of the shipped station with a small upload limit, a rule playlist and users."""

    def __init__(self, root: Path) -> None:
        for name in ("playlists", "audio"):
            shutil.copytree(ROOT / name, root / name)
        (root / "playlists" / "police.yaml").write_text(POLICE_PLAYLIST, encoding="utf-8")
        text = (ROOT / "config.yaml").read_text(encoding="utf-8") + MEDIA
        self.config = root / "config.yaml"
        self.config.write_text(text, encoding="utf-8")
        self.uploads = root / "var" / "media"  # station.library_dir's default, with the data
        self.db = root / "var" / "broadcastctl.sqlite3"
        users = UserStore(self.db)
        self.tokens = {
            role: users.add(name, role)
            for name, role in (("li.jing", "police"), ("wang", "operator"), ("zhao", "admin"))
        }
        self.tokens["police2"] = users.add("chen", "police")
        users.close()

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def audit(self) -> list[dict[str, Any]]:
        db = sqlite3.connect(self.db)
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM audit ORDER BY id")]
        db.close()
        return rows

    def leftovers(self) -> list[str]:
        tmp = self.uploads / "tmp"
        return sorted(os.listdir(tmp)) if tmp.is_dir() else []


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tones")
    return {
        "case.mp3": tone(folder / "case.mp3", seconds=2.0),
        "other.wav": tone(folder / "other.wav", freq=660, seconds=1.5),
        "short.mp3": tone(folder / "short.mp3", freq=880, seconds=0.6),
        "long.mp3": tone(folder / "long.mp3", freq=330, seconds=6.0),
    }


@pytest.fixture
def station(tmp_path: Path) -> Station:
    return Station(tmp_path)


@pytest.fixture
def client(station: Station) -> Iterator[TestClient]:
    with TestClient(create_app(load_config(station.config), NightClock())) as c:
        yield c


def upload(client: TestClient, station: Station, who: str, path: Path, **fields: str) -> Any:
    files = {"file": (path.name, path.read_bytes(), "audio/mpeg")}
    return client.post("/api/media", headers=station.auth(who), data=fields, files=files)
