"""Whose address a request has: X-Forwarded-For counts only from a proxy named in
api.trusted_proxies, and then only its right-most untrusted hop; over the real server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from peers.live_api import LiveApi
from test_api_media import NightClock

from controller.access.users import UserStore
from controller.api.forwarded import client_address, networks

PROXIES = networks(("10.0.0.0/8", "192.0.2.1"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # not a proxy: the header is ignored
        ("192.0.2.1", ["198.51.100.7"], "198.51.100.7"),
        ("192.0.2.1", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),  # the left is the client's
        ("192.0.2.1", ["198.51.100.7, 10.1.2.3"], "198.51.100.7"),  # a trusted hop skipped
        ("192.0.2.1", ["6.6.6.6", "198.51.100.7"], "198.51.100.7"),  # two header lines
        ("192.0.2.1", ["10.1.2.3"], "10.1.2.3"),  # all trusted: the left-most
        ("192.0.2.1", ["nonsense, 10.1.2.3"], "10.1.2.3"),  # not an address: stop there
        ("192.0.2.1", [], "192.0.2.1"),
        ("testclient", ["1.2.3.4"], "testclient"),
    ],
)
def test_the_right_most_untrusted_hop_counts(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_nothing_is_trusted_by_default() -> None:
    assert client_address("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"


def _station(shipped: Path) -> Path:
    db = shipped.parent / "var" / "broadcastctl.sqlite3"
    users = UserStore(db)
    users.add("wang", "operator")
    users.set_password("wang", "caozuo-2027")
    users.close()
    return db


def _sources(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT source FROM audit WHERE action = 'login_failed'").fetchall()
    return [r[0] for r in rows]


def _login(live: LiveApi, user: str, forwarded: str) -> int:
    body = {"user": user, "password": "wrong-password"}
    return live.request("POST", "/api/login", body, {"X-Forwarded-For": forwarded})[0]


def test_a_forged_header_from_loopback_neither_dodges_the_limit_nor_reaches_the_audit(
    shipped: Path,
) -> None:
    db = _station(shipped)
    with LiveApi(shipped, NightClock()) as live:
        statuses = [_login(live, f"u{i}", f"198.51.100.{i}") for i in range(7)]
    assert statuses == [401] * 5 + [429] * 2  # five from 127.0.0.1, whatever it claims
    assert set(_sources(db)) == {"127.0.0.1"}


def test_a_trusted_proxy_forwards_the_clients_address(shipped: Path) -> None:
    db = _station(shipped)
    with LiveApi(shipped, NightClock(), trusted_proxies=["127.0.0.1"]) as live:
        first = [_login(live, f"u{i}", "6.6.6.6, 198.51.100.7") for i in range(6)]
        other = _login(live, "v", "198.51.100.8")
    assert first == [401] * 5 + [429]
    assert other == 401  # another client behind the same proxy is not locked out
    assert set(_sources(db)) == {"198.51.100.7", "198.51.100.8"}
