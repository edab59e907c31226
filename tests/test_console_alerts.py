"""The 告警 page in headless Chromium: recent alerts with how each channel took them, in plain
Chinese; an admin's test reaches a local webhook receiver and the page says 已送达 for it and
why not for a channel where nothing listens; an operator sees the list but no test button;
a station without channels says so."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from alert_receivers import Receiver, unused_port
from browser import screenshot
from playwright.sync_api import Browser, Page, expect
from rig_web import DESKTOP, PHONE, Console, Station, console, consoles, running, station

from controller.alerts.events import disk_low, slot_outcome
from controller.alerts.outbox import SENT_OUT, AlertOutbox

__all__ = ["console", "station"]  # the fixtures, used by name

REFUSED = (
    "连接失败：[Errno 111] Connection refused / could not connect: [Errno 111] Connection refused"
)


class AlertStation(Station):
    """rig_web's station with two webhook channels: 值班群 at a local receiver, 备用群 at a
    loopback port nothing listens on."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.receiver = receiver = Receiver()
        path = root / "config.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        dead = f"http://127.0.0.1:{unused_port()}/hook"
        config["alerts"] = {
            "channels": [
                {"name": "值班群", "type": "webhook", "url": receiver.url},
                {"name": "备用群", "type": "webhook", "url": dead, "timeout_s": 2},
            ]
        }
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertStation]:
    """This module's second daemon, the one whose alerts go somewhere, and its receiver."""
    st = AlertStation(tmp_path_factory.mktemp("alerts"))
    with closing(st.receiver):
        for _ in running(st):
            yield st


@pytest.fixture
def alert_console(browser: Browser, alerting: Station) -> Iterator[Callable[..., Console]]:
    yield from consoles(browser, alerting)


def _open_alerts(page: Page) -> None:
    page.click("#tabs a[data-tab=alerts]")
    expect(page.locator("#page-alerts")).to_be_visible()
    expect(page.locator("#alert-updated")).not_to_be_empty()


def _seed(station: Station) -> None:
    """Alerts as the engine's worker leaves them: one given up on 备用群, one still being
    retried there; both delivered on 值班群. Written straight into the station's outbox."""
    outbox = AlertOutbox(station.dir.db)
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)  # not due: the engine's worker leaves them alone
    missed = slot_outcome("sched:2027-06-01:上午", "missed", "引擎未运行", now - timedelta(hours=2))
    disk = disk_low("/srv/aircheck", 800, 2000, now - timedelta(minutes=5))
    try:
        for alert, tries, gives_up in ((missed, 4, True), (disk, 3, False)):
            alert_id = outbox.add(alert, SENT_OUT)
            outbox.route(alert_id, ["值班群", "备用群"], later)
            outbox.attempted(alert_id, "值班群", error=None, at=alert.at, retry_at=None)
            for n in range(1, tries + 1):
                retry = None if gives_up and n == tries else later
                outbox.attempted(alert_id, "备用群", error=REFUSED, at=alert.at, retry_at=retry)
    finally:
        outbox.close()


def test_admin_sends_a_test_and_the_page_says_who_got_it(
    alert_console: Callable[..., Console], alerting: AlertStation
) -> None:
    receiver = alerting.receiver
    c = alert_console(DESKTOP)
    page = c.login_token("zhao")
    _open_alerts(page)
    channels = page.locator("#alert-channels")
    expect(channels).to_contain_text("值班群（通用 Webhook）")
    expect(channels).to_contain_text("备用群（通用 Webhook）")
    expect(page.locator("#alert-no-channel")).to_have_count(0)

    before = len(receiver.received)
    page.click("#alert-test")
    _ok(page)
    good = page.locator('.test-answer[data-channel="值班群"]')
    expect(good).to_have_attribute("data-ok", "true", timeout=15_000)
    expect(good).to_contain_text("已送达")
    dead = page.locator('.test-answer[data-channel="备用群"]')
    expect(dead).to_have_attribute("data-ok", "false")
    expect(dead).to_contain_text("未送达")
    expect(dead.locator(".delivery-why")).to_have_text(re.compile(r"^连不上对方.*连接被拒绝"))
    expect(dead.locator("details.raw pre")).to_be_hidden()  # the raw errno text, folded away
    assert "Errno" not in dead.locator(".delivery-why").inner_text()

    arrived = [r.body for r in receiver.wait_for(before + 1)[before:]]
    assert any(b.get("test") is True and "测试告警（zhao 发送）" in b["text"] for b in arrived)

    # The list shows the test with each channel's delivery.
    row = page.locator('.alert-row[data-kind="test"]').first
    expect(row).to_contain_text("通知")
    expect(row).to_contain_text("测试告警（zhao 发送）")
    expect(row.locator('.delivery[data-channel="值班群"]')).to_have_attribute("data-state", "sent")
    expect(row.locator('.delivery[data-channel="值班群"]')).to_contain_text("已送达")
    expect(row.locator('.delivery[data-channel="备用群"]')).to_have_attribute(
        "data-state", "failed"
    )
    expect(row.locator('.delivery[data-channel="备用群"]')).to_contain_text("未送达")
    assert not re.search(r"Traceback|Errno", page.locator("#page-alerts").inner_text())
    screenshot(page, "alerts-admin-test-sent")


def _ok(page: Page) -> None:
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-reason-label")).to_be_hidden()  # nothing to type
    page.click("#confirm-ok")
    expect(dialog).to_be_hidden()


def test_operator_reads_deliveries_in_plain_words_and_has_no_test_button(
    alert_console: Callable[..., Console], alerting: Station
) -> None:
    _seed(alerting)
    c = alert_console(PHONE)
    page = c.login("wang.fang")
    _open_alerts(page)
    expect(page.locator("#alert-test")).to_be_hidden()
    expect(page.locator("#alert-test-card")).to_be_hidden()

    missed = page.locator('.alert-row[data-kind="slot_missed"]')
    expect(missed).to_contain_text("严重")
    expect(missed).to_contain_text("漏播：sched:2027-06-01:上午（引擎未运行）")
    expect(missed).not_to_contain_text("/ airing")  # the Chinese half only
    expect(missed.locator('.delivery[data-channel="值班群"]')).to_contain_text("已送达")
    given_up = missed.locator('.delivery[data-channel="备用群"]')
    expect(given_up).to_have_attribute("data-state", "given_up")
    expect(given_up).to_contain_text("已放弃：试了 4 次仍未送达")
    expect(given_up.locator(".delivery-why")).to_contain_text("连接被拒绝")

    disk = page.locator('.alert-row[data-kind="disk_low"]')
    expect(disk).to_contain_text("警告")
    retrying = disk.locator('.delivery[data-channel="备用群"]')
    expect(retrying).to_have_attribute("data-state", "retrying")
    # Station time (UTC+8) for a browser in UTC: the next try an hour from now.
    next_try = (datetime.now(UTC) + timedelta(hours=9)).strftime("%H:")
    expect(retrying).to_contain_text(
        re.compile(rf"正在重试（已试 3 次，下次在 \d{{4}}-\d\d-\d\d {next_try}\d\d 重试）")
    )
    screenshot(page, "alerts-operator-phone")

    # The page refreshes by itself: an alert raised while it is open appears without a click.
    outbox = AlertOutbox(alerting.dir.db)
    try:
        outbox.add(
            slot_outcome("sched:2027-06-02:下午", "failed", "功放未确认", datetime.now(UTC)),
            SENT_OUT,
        )
    finally:
        outbox.close()
    expect(page.locator('.alert-row[data-kind="slot_failed"]')).to_contain_text(
        "只记录在本机", timeout=25_000
    )


def test_without_channels_the_page_says_alerts_stay_here(
    console: Callable[..., Console],
) -> None:
    c = console(DESKTOP)
    page = c.login("wang.fang")
    _open_alerts(page)
    expect(page.locator("#alert-no-channel")).to_contain_text("未配置告警渠道：告警只记录在本机")
    expect(page.locator("#alert-empty")).to_have_text("还没有告警")
    expect(page.locator("#alert-test")).to_be_hidden()
    screenshot(page, "alerts-no-channels")

    admin = console(DESKTOP).login_token("zhao")
    _open_alerts(admin)
    admin.click("#alert-test")
    _ok(admin)
    expect(admin.locator("#alert-test-result")).to_contain_text("未配置告警渠道")
