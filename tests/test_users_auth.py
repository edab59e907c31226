"""Users and tokens, the audit trail, the role dependency and the body-limit middleware."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from controller.access.users import Principal, UserError, UserStore, token_hash
from controller.api.auth import AnyUser, Operator
from controller.api.bodylimit import BodyLimitMiddleware
from controller.api.limits import WorkLimits
from controller.config.models import ApiConfig, MediaConfig
from controller.records.audit import AuditLog


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "broadcastctl.sqlite3"


@pytest.fixture
def users(db: Path) -> Iterator[UserStore]:
    store = UserStore(db)
    yield store
    store.close()


def test_tokens_are_stored_hashed_and_checked(users: UserStore, db: Path) -> None:
    token = users.add("li.jing", "police")
    assert len(token) >= 40
    raw = sqlite3.connect(db).execute("SELECT hash FROM tokens").fetchall()
    assert raw == [(token_hash(token),)]  # the token itself is nowhere in the database
    assert token.encode() not in db.read_bytes()
    user = users.authenticate(token)
    assert user is not None and (user.name, user.role, user.active) == ("li.jing", "police", True)
    assert users.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert users.authenticate("") is None


def test_second_token_and_revoke(users: UserStore) -> None:
    first = users.add("wang", "operator")
    second = users.new_token("wang")
    assert first != second
    assert users.authenticate(first) is not None and users.authenticate(second) is not None
    users.revoke("wang")
    assert users.authenticate(first) is None and users.authenticate(second) is None
    (listed,) = users.list()
    assert listed.name == "wang" and not listed.active
    with pytest.raises(UserError, match="already revoked"):
        users.revoke("wang")
    with pytest.raises(UserError, match="is revoked"):
        users.new_token("wang")


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("bad name", "police", "invalid user name"),
        ("", "police", "invalid user name"),
        ("zhao", "viewer", "unknown role 'viewer'"),
    ],
)
def test_bad_users_are_refused(users: UserStore, name: str, role: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        users.add(name, role)
    assert users.list() == []


def test_duplicate_and_unknown_users(users: UserStore) -> None:
    users.add("zhao", "admin")
    with pytest.raises(UserError, match="already exists"):
        users.add("zhao", "police")
    with pytest.raises(UserError, match="no user 'qian'"):
        users.revoke("qian")


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


def test_audit_rows_newest_first_since_and_limit(db: Path) -> None:
    clock = FixedClock(datetime(2027, 6, 1, 8, 0, tzinfo=UTC))
    audit = AuditLog(db, clock)
    officer = Principal("li.jing", "police", "10.0.0.7")
    audit.record(officer, "media.upload", "0123456789ab", "新案例", detail={"title": "冒充客服"})
    clock.at += timedelta(hours=1)
    audit.record("cli", "user.add", "wang")
    first, second = audit.list()[::-1]
    assert first.to_dict(UTC) == {
        "id": 1,
        "at": "2027-06-01T08:00:00.000+00:00",
        "user": "li.jing",
        "role": "police",
        "source": "10.0.0.7",
        "action": "media.upload",
        "target": "0123456789ab",
        "reason": "新案例",
        "detail": {"title": "冒充客服"},
    }
    assert (second.user, second.role, second.action, second.target) == (
        "cli",
        "",
        "user.add",
        "wang",
    )
    assert second.source.startswith("cli:")
    assert [e.id for e in audit.list(since=clock.at)] == [2]
    assert [e.id for e in audit.list(limit=1)] == [2]
    audit.close()


def _app(users: UserStore) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        loaded = SimpleNamespace(config=SimpleNamespace(api=ApiConfig()))
        services = SimpleNamespace(users=users, loaded=loaded)
        yield {"services": services, "limits": WorkLimits(MediaConfig())}

    app = FastAPI(lifespan=lifespan)

    @app.get("/who")
    def who(principal: AnyUser) -> dict[str, str]:
        return {"user": principal.user, "role": principal.role, "from": principal.source_address}

    @app.post("/op")
    def op(principal: Operator) -> dict[str, str]:
        return {"user": principal.user}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, limit_for=lambda scope: 100)
    return app


def test_roles_and_bearer_tokens(users: UserStore) -> None:
    tokens = {role: users.add(f"u-{role}", role) for role in ("police", "operator", "admin")}
    with TestClient(_app(users)) as client:
        missing = client.get("/who")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json() == {"detail": "需要登录令牌 / missing bearer token"}
        bad = client.get("/who", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and "invalid or revoked" in bad.json()["detail"]
        basic = client.get("/who", headers={"Authorization": "Basic dTpw"})
        assert basic.status_code == 401

        def call(method: str, path: str, role: str) -> Any:
            return client.request(method, path, headers={"Authorization": f"Bearer {tokens[role]}"})

        assert call("GET", "/who", "police").json() == {
            "user": "u-police",
            "role": "police",
            "from": "testclient",
        }
        refused = call("POST", "/op", "police")
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("角色 police 无权执行此操作 / role police")
        assert call("POST", "/op", "operator").json() == {"user": "u-operator"}
        assert call("POST", "/op", "admin").json() == {"user": "u-admin"}  # admin: everywhere
        users.revoke("u-operator")
        assert call("POST", "/op", "operator").status_code == 401


def test_body_limit_by_length_and_by_stream(users: UserStore) -> None:
    with TestClient(_app(users)) as client:
        assert client.post("/echo", content=b"x" * 100).json() == {"bytes": 100}
        declared = client.post("/echo", content=b"x" * 101)
        assert declared.status_code == 413 and "request body too large" in declared.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: only counting can stop it
            for _ in range(5):
                yield b"x" * 40

        streamed = client.post("/echo", content=chunks())
        assert streamed.status_code == 413
