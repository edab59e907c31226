"""The console's browser tests' station and browser: a real daemon process (fake relays and
screens, a short preroll) with a police officer, an operator and an admin, headless Chromium,
and a console per test that logs in through its own browser context.

The fixtures are module-scoped: each test module that imports them has one daemon and one
browser of its own. Screenshots go to test-artifacts/console/ (git-ignored).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from browser import PageErrors, screenshot
from media_files import tone
from peers.daemon import ROOT, SH, Daemon, StationDir
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

expect.set_options(timeout=10_000)

PASSWORDS = {"li.jing": "派出所-2027-lj", "wang.fang": "值班-2027-wf"}
CLIP_TITLE = "冒充客服退款"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


class Station:
    def __init__(self, root: Path) -> None:
        self.dir = StationDir(root)
        shutil.copy(ROOT / "playlists" / "slogans.yaml", root / "playlists" / "slogans.yaml")
        now = datetime.now(SH)
        # Slots on the hour, two and more hours away: nothing airs during the test but what the
        # test airs, and no slot straddles midnight into the blackout day.
        first = (now + timedelta(hours=3)).strftime("%H:00")
        second = (now + timedelta(hours=9)).strftime("%H:00")
        self.dir.write_config(
            {
                "relays": [
                    {"id": "rack", "type": "fake", "channels": 2},
                    {"id": "villages", "type": "fake", "channels": 2},
                ],
                "amplifiers": [{"relay": "rack:1", "settle_s": 0.2}],
                "zones": [
                    {"id": "east", "name": "东村", "relays": ["villages:1"]},
                    {"id": "west", "name": "西村", "relays": ["villages:2"]},
                ],
                "schedule": {
                    "preroll_s": 0.5,
                    "postroll_s": 0.2,
                    "min_join_s": 3,
                    "slots": [
                        {"name": "上午", "start": first, "duration": "30m", "playlist": "p"},
                        {"name": "下午", "start": second, "duration": "30m", "playlist": "p"},
                    ],
                },
                "displays": [{"id": "square", "type": "fake", "width": 128, "height": 32}],
            }
        )
        self.daemon = Daemon(self.dir)
        self.base = f"http://127.0.0.1:{self.dir.api_port}"
        self.tokens: dict[str, str] = {}

    def cli(self, *args: str, stdin: str | None = None) -> str:
        config = str(self.dir.root / "config.yaml")
        done = subprocess.run(
            [sys.executable, "-m", "controller.cli.main", *args, "--config", config],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def add_users(self) -> None:
        for name, role in (("li.jing", "police"), ("wang.fang", "operator"), ("zhao", "admin")):
            self.tokens[name] = self.cli("user", "add", name, "--role", role)
        for name, password in PASSWORDS.items():
            self.cli("user", "passwd", name, "--stdin", stdin=password + "\n")


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    yield from running(Station(tmp_path_factory.mktemp("console")))


def running(st: Station) -> Iterator[Station]:
    """The station with its users, its daemon started; stopped after."""
    st.add_users()
    st.daemon.start()
    try:
        yield st
    finally:
        st.daemon.stop()


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone(tmp_path_factory.mktemp("clips") / "冒充客服退款.wav", freq=550, seconds=4.0)


class Console:
    """One browser context logged in as one user, with its page's script errors watched."""

    def __init__(self, browser: Browser, station: Station, viewport: ViewportSize) -> None:
        self.context: BrowserContext = browser.new_context(
            viewport=viewport,
            locale="zh-CN",
            timezone_id="UTC",  # not the station's zone
        )
        self.context.set_default_timeout(10_000)
        self.page: Page = self.context.new_page()
        self.errors = PageErrors()
        self.errors.watch(self.page)
        self.station = station

    def open(self) -> Page:
        self.page.goto(self.station.base + "/")
        expect(self.page.locator("#page-login")).to_be_visible()
        return self.page

    def login(self, user: str) -> Page:
        page = self.open()
        page.fill("#login-user", user)
        page.fill("#login-password", PASSWORDS[user])
        page.click("#login-form button[type=submit]")
        expect(page.locator("#who-name")).to_contain_text(user)
        expect(page.locator("#page-overview")).to_be_visible()
        return page

    def login_token(self, user: str) -> Page:
        page = self.open()
        page.click(".token-login summary")
        page.fill("#login-token", self.station.tokens[user])
        page.click("#token-form button[type=submit]")
        expect(page.locator("#who-name")).to_contain_text(user)
        expect(page.locator("#page-overview")).to_be_visible()
        return page

    def confirm(self, reason: str, shot: str | None = None) -> None:
        dialog = self.page.locator("#confirm-dialog")
        expect(dialog).to_be_visible()
        self.page.fill("#confirm-reason", reason)
        if shot:
            screenshot(self.page, shot)
        self.page.click("#confirm-ok")
        expect(dialog).to_be_hidden()

    def close(self) -> None:
        self.context.close()
        assert not self.errors.seen, self.errors.seen


@pytest.fixture
def console(browser: Browser, station: Station) -> Iterator[Callable[..., Console]]:
    """`console(viewport=DESKTOP)` → a new logged-out console; its errors fail the test."""
    yield from consoles(browser, station)


def consoles(browser: Browser, station: Station) -> Iterator[Callable[..., Console]]:
    """The `console` fixture's body, for a module's own station."""
    opened: list[Console] = []

    def make(viewport: ViewportSize = DESKTOP) -> Console:
        c = Console(browser, station, viewport)
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


def _tabs(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("#tabs a:visible").all_inner_texts()]
