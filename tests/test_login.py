"""Console login with a cookie session, the CSRF header, logout, expiry, the failed-login
limit, and `GET /api/me`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from rig_login import CSRF, PASSWORDS, ROLES, Station, StepClock, client, login, station

from controller.api.app import create_app
from controller.api.login import LoginLimiter
from controller.cli.main import main
from controller.config import load_config

__all__ = ["client", "station"]  # the fixtures, imported so pytest finds them here

# --- login, cookie sessions, logout ------------------------------------------------------


def test_password_login_sets_a_strict_http_only_cookie_that_authenticates(
    client: TestClient, station: Station
) -> None:
    r = login(client, "wang", PASSWORDS["wang"])
    assert r.status_code == 200
    assert r.json() == {
        "user": "wang",
        "role": "operator",
        "may": ["upload", "approve", "led_message", "airings", "stop", "emergency", "alerts"],
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
    operator = ["upload", "approve", "led_message", "airings", "stop", "emergency", "alerts"]
    assert may == {
        "li.jing": ["upload", "led_message"],
        "wang": operator,
        "zhao": [*operator, "blackouts", "users", "audit", "alerts_test"],
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
