"""Passwords (scrypt), console login with a cookie session, CSRF header, logout, expiry,
the failed-login limit, `GET /api/me`, and `broadcastctl user passwd`."""

from __future__ import annotations

import io
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from peers.daemon import ROOT, SH
from starlette.types import ASGIApp, Receive, Scope, Send

from controller.access import users as users_module
from controller.access.users import UserError, UserStore, verify_password
from controller.api.app import create_app
from controller.api.login import LoginLimiter
from controller.cli.main import main
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


# --- passwords in the user store ---------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UserStore]:
    s = UserStore(tmp_path / "broadcastctl.sqlite3")
    yield s
    s.close()


def test_passwords_are_stored_as_salted_scrypt_and_checked(
    store: UserStore, tmp_path: Path
) -> None:
    store.add("wang", "operator")
    store.add("chen", "operator")
    store.set_password("wang", "same-password")
    store.set_password("chen", "same-password")
    db = sqlite3.connect(tmp_path / "broadcastctl.sqlite3")
    stored = dict(db.execute("SELECT name, password_hash FROM users").fetchall())
    db.close()
    scheme, n, r, p, salt, digest = stored["wang"].split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32
    assert stored["wang"] != stored["chen"]  # a salt of its own
    assert b"same-password" not in (tmp_path / "broadcastctl.sqlite3").read_bytes()

    user = store.check_password("wang", "same-password")
    assert user is not None and (user.name, user.role) == ("wang", "operator")
    assert store.check_password("wang", "same-passwore") is None
    assert store.check_password("wang", "") is None
    assert store.check_password("nobody", "same-password") is None
    store.add("liu", "police")  # no password yet
    assert store.check_password("liu", "") is None and store.check_password("liu", "x" * 8) is None
    store.revoke("chen")
    assert store.check_password("chen", "same-password") is None

    store.set_password("wang", "a-new-password")
    assert store.check_password("wang", "same-password") is None
    assert store.check_password("wang", "a-new-password") is not None


def test_short_passwords_and_unknown_or_revoked_users_are_refused(store: UserStore) -> None:
    store.add("wang", "operator")
    with pytest.raises(UserError, match="at least 8 characters"):
        store.set_password("wang", "1234567")
    store.set_password("wang", "12345678")  # eight is enough
    with pytest.raises(UserError, match="no user 'qian'"):
        store.set_password("qian", "long enough")
    store.revoke("wang")
    with pytest.raises(UserError, match="is revoked"):
        store.set_password("wang", "long enough")


def test_unknown_names_cost_the_same_scrypt_work(
    store: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add("wang", "operator")
    store.set_password("wang", "right password")
    store.add("liu", "police")
    calls: list[int] = []
    real = users_module._scrypt

    def counting(password: str, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
        calls.append(n)
        return real(password, salt, n, r, p, length)

    monkeypatch.setattr(users_module, "_scrypt", counting)
    for name in ("wang", "nobody", "liu"):  # wrong password, unknown user, no password
        calls.clear()
        assert store.check_password(name, "wrong password") is None
        assert calls == [2**14], name


@pytest.mark.parametrize(
    "stored",
    ["", "scrypt$16384$8$1$zz$00", "bcrypt$16384$8$1$00$00", "scrypt$3$8$1$00$00", "scrypt$1"],
)
def test_malformed_stored_hashes_match_nothing(stored: str) -> None:
    assert verify_password("anything", stored) is False


def test_an_older_database_gains_the_password_column(tmp_path: Path) -> None:
    path = tmp_path / "broadcastctl.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL,"
        " created_at TEXT NOT NULL, revoked_at TEXT)"
    )
    db.execute("INSERT INTO users VALUES ('wang', 'operator', '2027-01-01T00:00:00+08:00', NULL)")
    db.commit()
    db.close()
    store = UserStore(path)
    assert store.check_password("wang", "whatever1") is None
    store.set_password("wang", "whatever1")
    assert store.check_password("wang", "whatever1") is not None
    store.close()


# --- the command line --------------------------------------------------------------------


def test_user_passwd_from_stdin_and_from_a_prompt(
    station: Station, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = ["--config", str(station.config)]
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin 1\r\nnext line\n"))
    assert main(["user", "passwd", "wang", "--stdin", *cfg]) == 0
    assert "password set for wang" in capsys.readouterr().err

    typed = iter(["typed twice", "typed twice", "first try", "second try"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["user", "passwd", "zhao", *cfg]) == 1  # no terminal: say so, ask nothing
    assert "use --stdin" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert main(["user", "passwd", "zhao", *cfg]) == 0
    assert main(["user", "passwd", "zhao", *cfg]) == 1
    assert "passwords differ" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "passwd", "wang", "--stdin", *cfg]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["user", "passwd", "qian", "--stdin", *cfg]) == 1
    assert "no active user 'qian'" in capsys.readouterr().err

    store = UserStore(station.db)
    assert store.check_password("wang", "from stdin 1") is not None
    assert store.check_password("zhao", "typed twice") is not None
    store.close()
    passwd = [(u, a, t) for u, _, a, t in station.audit() if a == "user.passwd"]
    assert passwd == [("cli", "user.passwd", "wang"), ("cli", "user.passwd", "zhao")]


# --- login, cookie sessions, logout ------------------------------------------------------


def test_password_login_sets_a_strict_http_only_cookie_that_authenticates(
    client: TestClient, station: Station
) -> None:
    r = login(client, "wang", PASSWORDS["wang"])
    assert r.status_code == 200
    assert r.json() == {
        "user": "wang",
        "role": "operator",
        "may": ["upload", "approve", "led_message", "airings", "stop", "emergency"],
    }
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("bcsession=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
        assert attribute in cookie.split("; "), attribute
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    token = client.cookies["bcsession"]
    assert len(token) >= 40 and token.encode() not in station.db.read_bytes()

    me = client.get("/api/me")  # the cookie alone
    assert me.status_code == 200 and me.json()["user"] == "wang"
    assert client.get("/api/media").status_code == 200
    assert ("wang", "10.0.0.7", "login", "wang") in station.audit()


def test_cookie_writes_need_the_csrf_header_bearer_writes_do_not(
    client: TestClient, station: Station
) -> None:
    assert login(client, "wang", PASSWORDS["wang"]).status_code == 200
    message = {"text": "谨防电信诈骗", "minutes": 1}
    refused = client.post("/api/led/messages", json=message)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "缺少请求头 / missing X-Requested-With header"
    wrong = client.post("/api/led/messages", json=message, headers={"X-Requested-With": "x"})
    assert wrong.status_code == 403
    assert client.delete("/api/media/000000000000").status_code == 403
    assert client.post("/api/led/messages", json=message, headers=CSRF).status_code == 201
    assert client.delete("/api/media/000000000000", headers=CSRF).status_code == 404

    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {station.tokens['wang']}"}
    assert client.post("/api/led/messages", json=message, headers=bearer).status_code == 201


def test_token_login_and_the_role_still_counts(client: TestClient, station: Station) -> None:
    r = client.post("/api/login", json={"token": station.tokens["li.jing"]})
    assert r.status_code == 200 and r.json()["may"] == ["upload", "led_message"]
    assert "SameSite=Strict" in r.headers["set-cookie"]
    assert client.get("/api/me").json()["role"] == "police"
    refused = client.get("/api/asrun")  # operator's
    assert refused.status_code == 403 and "role police" in refused.json()["detail"]
    bad = client.post("/api/login", json={"token": station.tokens["li.jing"] + "x"})
    assert bad.status_code == 401
    assert bad.json()["detail"] == "用户名或密码错误 / wrong user name or password"


def test_me_lists_what_each_role_may_do(client: TestClient, station: Station) -> None:
    may = {
        name: client.get(
            "/api/me", headers={"Authorization": f"Bearer {station.tokens[name]}"}
        ).json()["may"]
        for name in ROLES
    }
    operator = ["upload", "approve", "led_message", "airings", "stop", "emergency"]
    assert may == {
        "li.jing": ["upload", "led_message"],
        "wang": operator,
        "zhao": [*operator, "blackouts", "users", "audit"],
    }
    assert client.get("/api/me").status_code == 401


def test_wrong_credentials_are_401_and_audited_with_the_address(
    client: TestClient, station: Station
) -> None:
    for user, password in (("wang", "not-it-at-all"), ("nobody", "whatever1"), ("no.password", "")):
        r = login(client, user, password, peer="10.0.0.9")
        assert r.status_code in (401, 422), user
        assert "set-cookie" not in r.headers
    r = login(client, "nobody", "whatever1", peer="10.0.0.9")
    assert r.json() == {"detail": "用户名或密码错误 / wrong user name or password"}
    failed = [row for row in station.audit() if row[2] == "login_failed"]
    assert failed[:2] == [
        ("?", "10.0.0.9", "login_failed", "wang"),
        ("?", "10.0.0.9", "login_failed", "nobody"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"user": "wang"},
        {"password": "caozuo-2027"},
        {"user": "wang", "password": "caozuo-2027", "token": "x"},
        {"token": ""},
        {},
    ],
)
def test_login_bodies_that_are_neither_form_are_422(client: TestClient, body: object) -> None:
    assert client.post("/api/login", json=body).status_code == 422


def test_logout_ends_the_session_and_clears_the_cookie(
    client: TestClient, station: Station
) -> None:
    assert login(client, "zhao", PASSWORDS["zhao"]).status_code == 200
    token = client.cookies["bcsession"]
    assert client.post("/api/logout").status_code == 403  # the cookie came: so must the header
    out = client.post("/api/logout", headers=CSRF)
    assert out.status_code == 200 and out.json() == {"ok": True}
    assert 'bcsession=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert "bcsession" not in client.cookies
    client.cookies.set("bcsession", token)  # a copy kept by someone is no use now
    again = client.get("/api/me")
    assert again.status_code == 401 and "log in again" in again.json()["detail"]
    assert ("zhao", "testclient", "logout", "zhao") in station.audit()
    client.cookies.clear()
    assert client.post("/api/logout").json() == {"ok": True}  # nothing to end: still fine


def test_expired_sessions_and_revoked_users_are_401(client: TestClient, station: Station) -> None:
    assert login(client, "wang", PASSWORDS["wang"]).status_code == 200
    assert client.get("/api/me").status_code == 200
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    station.sql("UPDATE sessions SET expires_at = ?", past)
    assert client.get("/api/me").status_code == 401

    assert login(client, "li.jing", PASSWORDS["li.jing"]).status_code == 200
    assert client.get("/api/me").status_code == 200
    assert main(["user", "revoke", "li.jing", "--config", str(station.config)]) == 0
    assert client.get("/api/me").status_code == 401


def test_https_cookies_are_secure(station: Station) -> None:
    app = create_app(load_config(station.config), station.clock)
    with TestClient(app, base_url="https://testserver") as client:
        r = client.post("/api/login", json={"user": "wang", "password": PASSWORDS["wang"]})
        assert r.status_code == 200 and "Secure" in r.headers["set-cookie"].split("; ")
        assert client.get("/api/me").status_code == 200


# --- the failed-login limit --------------------------------------------------------------


def test_five_failures_from_one_address_block_it_until_the_window_passes(
    client: TestClient, station: Station
) -> None:
    for i in range(5):
        assert login(client, f"guess{i}", "wrong-guess", peer="10.0.0.66").status_code == 401
    blocked = login(client, "wang", PASSWORDS["wang"], peer="10.0.0.66")  # right, still no
    assert blocked.status_code == 429
    wait = int(blocked.headers["retry-after"])
    assert 0 < wait <= 300
    assert blocked.json()["detail"] == (
        f"登录失败次数过多，请 {wait} 秒后再试 / too many failed logins, retry in {wait} s"
    )
    assert "set-cookie" not in blocked.headers
    assert login(client, "wang", PASSWORDS["wang"], peer="10.0.0.67").status_code == 200
    station.clock.offset += 301
    assert login(client, "wang", PASSWORDS["wang"], peer="10.0.0.66").status_code == 200


def test_five_failures_for_one_user_block_that_user_from_anywhere(
    client: TestClient, station: Station
) -> None:
    for i in range(5):
        assert login(client, "zhao", "wrong-guess", peer=f"10.0.1.{i}").status_code == 401
    assert login(client, "zhao", PASSWORDS["zhao"], peer="10.0.2.1").status_code == 429
    assert login(client, "wang", PASSWORDS["wang"], peer="10.0.2.1").status_code == 200
    station.clock.offset += 299
    assert login(client, "zhao", PASSWORDS["zhao"], peer="10.0.2.1").status_code == 429
    station.clock.offset += 2
    assert login(client, "zhao", PASSWORDS["zhao"], peer="10.0.2.1").status_code == 200


def test_successful_logins_do_not_count(client: TestClient) -> None:
    for _ in range(7):
        assert login(client, "wang", PASSWORDS["wang"]).status_code == 200


def test_the_limiter_slides_its_window() -> None:
    clock = StepClock()
    limiter = LoginLimiter(clock, limit=3, window_s=60)
    keys = ["address:a", "user:wang"]
    for _ in range(2):
        limiter.failed(keys)
        clock.offset += 20
    assert limiter.retry_after(keys) == 0  # two in the window
    limiter.failed(keys)  # at 40 s: three
    assert limiter.retry_after(keys) == 20  # until the first, at 0 s, is 60 s old
    assert limiter.retry_after(["user:wang"]) == 20
    assert limiter.retry_after(["address:b", "user:li"]) == 0
    clock.offset += 20
    assert limiter.retry_after(keys) == 0
    limiter.failed(keys)  # at 60 s: the ones at 20, 40, 60 s
    assert limiter.retry_after(keys) == 20
