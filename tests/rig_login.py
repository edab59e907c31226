"""The login tests' station: a copy of the shipped one with a user per role, each with a token
and a password (and one user with no password), on a clock at 03:00 whose monotonic time a test
moves; its app sees the caller's address in `X-Test-Peer`."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from peers.daemon import ROOT, SH
from starlette.types import ASGIApp, Receive, Scope, Send

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config

PASSWORDS = {"li.jing": "jingcha-2027", "wang": "caozuo-2027", "zhao": "guanli-2027"}
ROLES = {"li.jing": "police", "wang": "operator", "zhao": "admin"}
CSRF = {"X-Requested-With": "broadcastctl"}


class StepClock:
    """03:00 station time (nothing airs); monotonic time moves when a test says so."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime(2027, 6, 1, 3, 0, tzinfo=SH)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


class Station:
    def __init__(self, root: Path) -> None:
        for name in ("playlists", "audio"):
            shutil.copytree(ROOT / name, root / name)
        self.config = root / "config.yaml"
        shutil.copy(ROOT / "config.yaml", self.config)
        self.db = root / "var" / "broadcastctl.sqlite3"
        store = UserStore(self.db)
        self.tokens = {name: store.add(name, role) for name, role in ROLES.items()}
        for name, password in PASSWORDS.items():
            store.set_password(name, password)
        store.add("no.password", "operator")
        store.close()
        self.clock = StepClock()

    def audit(self) -> list[tuple[str, str, str, str]]:
        db = sqlite3.connect(self.db)
        rows = db.execute("SELECT user, source, action, target FROM audit ORDER BY id").fetchall()
        db.close()
        return rows

    def sql(self, statement: str, *params: object) -> None:
        db = sqlite3.connect(self.db)
        db.execute(statement, params)
        db.commit()
        db.close()


def peer_from_header(app: ASGIApp) -> ASGIApp:
    """The test's stand-in for callers on other machines: `X-Test-Peer` sets the client
    address the app sees (the test client otherwise always comes from "testclient")."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-test-peer":
                    scope = {**scope, "client": (value.decode(), 50000)}
        await app(scope, receive, send)

    return wrapped


@pytest.fixture
def station(tmp_path: Path) -> Station:
    return Station(tmp_path)


@pytest.fixture
def client(station: Station) -> Iterator[TestClient]:
    app = create_app(load_config(station.config), station.clock)
    with TestClient(peer_from_header(app)) as c:
        yield c


def login(client: TestClient, user: str, password: str, peer: str = "10.0.0.7") -> Any:
    return client.post(
        "/api/login", json={"user": user, "password": password}, headers={"X-Test-Peer": peer}
    )
