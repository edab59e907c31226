"""Headless Chromium for the console's browser tests: Debian's chromium driven by Playwright.

The test bootstrap installs Debian's chromium; Playwright's own browser download is never used
(the station may have no internet). A machine without it fails the tests, loudly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from peers.daemon import ROOT
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = Path(os.environ.get("BROADCASTCTL_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "console"


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the block; a clear failure (never a skip) if it cannot start."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: the console's browser tests need Debian's chromium"
            " (./test.sh installs it; BROADCASTCTL_CHROMIUM names another binary)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=ARGS, timeout=30_000
            )
        except PlaywrightError as exc:
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageErrors:
    """Script errors and console errors of a page, except failed loads the test expects."""

    expected: tuple[str, ...] = ("status of 401",)
    seen: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.seen.append(f"pageerror: {exc}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not any(e in message.text for e in self.expected):
            self.seen.append(f"console: {message.text}")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/console/<name>.png (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
