"""The fault banner at the top of 总览, in headless Chromium at phone and desktop size: with every
device offline it is in the first screenful, counts the faults, shows the worst first, jumps
to the device, and keeps the raw error text behind 详情; a healthy station shows none."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser import ARTIFACTS, screenshot
from paho.mqtt import publish
from peers.mosquitto import Mosquitto, free_port, unique_name
from playwright.sync_api import Browser, Page, expect
from rig_web import DESKTOP, PHONE, Console, Station, console, consoles, running, station

__all__ = ["console", "station"]  # the fixtures, used by name

SEVERITY_ORDER = ["air", "device", "screen", "disk", "notice"]


class OfflineStation(Station):
    """rig_web's station, but every device is away: three Tasmota boards whose retained LWT
    says Offline, and an Onbon screen at an address nothing answers on."""

    def __init__(self, root: Path, broker: Mosquitto) -> None:
        super().__init__(root)
        self.topics = {name: unique_name(f"banner-{name}") for name in ("rack", "east", "west")}
        for topic in self.topics.values():
            publish.single(f"tele/{topic}/LWT", "Offline", qos=1, retain=True,
                           hostname=broker.host, port=broker.port)  # fmt: skip
        relays = [
            {"id": name, "type": "tasmota", "topic": topic, "confirm_timeout_s": 0.5,
             "retries": 0}
            for name, topic in self.topics.items()
        ]  # fmt: skip
        self.dir.write_config(
            {
                "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5},
                "relays": relays,
                "amplifiers": [{"relay": "rack:1", "settle_s": 0.2}],
                "zones": [
                    {"id": "east", "name": "东村", "relays": ["east:1"]},
                    {"id": "west", "name": "西村", "relays": ["west:1"]},
                ],
                "schedule": {"preroll_s": 0.5, "slots": []},
                "displays": [
                    {"id": "square", "type": "onbon-bx6k", "host": "127.0.0.1",
                     "port": free_port(), "timeout_s": 0.5}
                ],
            }
        )  # fmt: skip


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Iterator[Station]:
    yield from running(OfflineStation(tmp_path_factory.mktemp("banner"), mosquitto))


@pytest.fixture
def offline_console(browser: Browser, offline: Station) -> Iterator[Callable[..., Console]]:
    yield from consoles(browser, offline)


def _in_first_screenful(page: Page, selector: str) -> None:
    """Fully visible without scrolling."""
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"] if page.viewport_size else 0
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (box, height)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_device_offline_the_banner_says_so_at_the_top(
    offline_console: Callable[..., Console], size: str
) -> None:
    viewport = PHONE if size == "phone" else DESKTOP
    c = offline_console(viewport)
    page = c.login("wang.fang")
    banner = page.locator("#fault-banner")
    expect(banner).to_be_visible(timeout=15_000)
    # Three relay boards and the screen (the screen's first failed push may take a moment).
    expect(banner).to_have_attribute("data-count", "4", timeout=15_000)
    expect(banner.locator(".fault-count")).to_have_text(re.compile(r"^4 个故障"))
    _in_first_screenful(page, "#fault-banner .fault-count")
    _in_first_screenful(page, "#fault-banner .fault:first-child")

    faults = banner.locator(".fault")
    severities = [f.get_attribute("data-severity") or "" for f in faults.all()]
    assert severities[0] == "air"
    assert severities == sorted(severities, key=SEVERITY_ORDER.index)
    first = faults.first
    expect(first).to_contain_text(re.compile(r"功放电源的继电器离线"))
    expect(banner).to_contain_text("东村喇叭的继电器离线")
    expect(banner).to_contain_text("西村喇叭的继电器离线")
    expect(banner).to_contain_text("LED 屏幕 square")
    # Plain words only: no errno, no English, until 详情 is opened.
    words = " ".join(banner.locator(".fault-go").all_inner_texts())
    assert not re.search(r"Errno|errno|refused|offline|timeout", words), words
    screenshot(page, f"banner-{size}-offline")
    page.screenshot(path=str(ARTIFACTS / f"banner-{size}-offline-first-screen.png"))

    # The link jumps to the device's own section, far down on a phone.
    first.locator(".fault-go").click()
    rack = page.locator('#devices .device[data-device="rack"]')
    expect(rack).to_be_in_viewport()
    expect(rack).to_have_class(re.compile(r"\bflash\b"))
    page.screenshot(path=str(ARTIFACTS / f"banner-{size}-jumped-to-device.png"))

    # 详情 unfolds the raw error text (the screen's connection error), folded away until then.
    screen = banner.locator('.fault[data-target="display:square"]')
    raw = screen.locator("details.raw pre")
    page.evaluate("window.scrollTo(0, 0)")
    expect(raw).to_be_hidden()
    screen.locator("details.raw summary").click()
    expect(raw).to_be_visible()
    expect(raw).not_to_be_empty()
    screenshot(page, f"banner-{size}-details")


def test_a_healthy_station_shows_no_banner(console: Callable[..., Console]) -> None:
    c = console(PHONE)
    page = c.login("wang.fang")
    expect(page.locator("#zones .zone")).to_have_count(2)  # the status has arrived
    expect(page.locator("#devices .device")).to_have_count(2)
    expect(page.locator("#fault-banner")).to_be_hidden()
    screenshot(page, "banner-phone-healthy")
