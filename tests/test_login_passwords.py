"""Passwords (scrypt) in the user store, and setting them with `broadcastctl user passwd`."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from rig_login import Station, station

from controller.access import users as users_module
from controller.access.users import UserError, UserStore, verify_password
from controller.cli.main import main

__all__ = ["station"]  # the fixture, imported so pytest finds it here

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
