"""The web console in headless Chromium against the real daemon process, as the operator uses
it: approves a clip and airs an emergency, airs and stops a manual airing and cancels an alert
(then the admin's audit log), and the live stream's banner while the daemon is away.

One daemon for the module (tests/rig_web.py); the banner test stops and starts it again, so
it comes last. Each test logs in through its own browser context; screenshots go to
test-artifacts/console/ (git-ignored).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from browser import screenshot
from peers.daemon import SH
from playwright.sync_api import Page, expect
from rig_web import CLIP_TITLE, PHONE, Console, Station, _tabs, clip_file, console, station

__all__ = ["clip_file", "console", "station"]  # the fixtures, so pytest finds them
pytestmark = pytest.mark.timeout(120)


def _police_upload(station: Station, clip_file: Path) -> None:
    """The police clip, uploaded over the API: the console's upload is tested in
    test_console_browser_police_admin.py, against a daemon of its own."""
    got = httpx2.post(
        f"{station.base}/api/media",
        headers={"Authorization": f"Bearer {station.tokens['li.jing']}"},
        files={"file": (clip_file.name, clip_file.read_bytes(), "audio/wav")},
        data={"title": CLIP_TITLE},
        timeout=30,
    )
    assert got.status_code in (200, 201), got.text


def _approve(c: Console, page: Page) -> str:
    page.click("#tabs a[data-tab=media]")
    card = page.locator(".clip-card", has_text=CLIP_TITLE)
    expect(card).to_have_attribute("data-status", "pending")
    clip_id = card.get_attribute("data-clip")
    assert clip_id
    card.get_by_role("button", name="批准播出").click()
    c.confirm("已核对内容，同意播出")
    expect(page.locator(f'.clip-card[data-clip="{clip_id}"]')).to_have_attribute(
        "data-status", "approved"
    )
    return clip_id


def test_operator_approves_the_clip_and_airs_an_emergency_on_one_zone(
    console: Callable[..., Console], station: Station, clip_file: Path
) -> None:
    _police_upload(station, clip_file)
    c = console()
    page = c.login("wang.fang")
    assert _tabs(page) == ["总览", "音频库", "静默期", "播出记录", "告警"]
    clip_id = _approve(c, page)

    page.click("#tabs a[data-tab=overview]")
    east, west = page.locator('.zone[data-zone="east"]'), page.locator('.zone[data-zone="west"]')
    expect(east).to_have_attribute("data-relay-state", "off")
    form = page.locator("#emergency-form")
    form.get_by_label("东村").check()
    page.select_option("#em-clip", clip_id)
    page.fill("#em-repeats", "3")
    page.fill("#em-led", "紧急提醒：警惕冒充客服退款诈骗")
    page.check("#em-exercise")
    page.fill("#em-reason", "派出所通报新型诈骗，演练插播流程")
    submitted = datetime.now(SH)
    page.click("#em-submit")
    expect(page.locator("#confirm-lines")).to_contain_text("区域：东村")
    c.confirm("派出所通报新型诈骗，演练插播流程", shot="2-operator-emergency-confirm")

    # On air: the zone's relay on, 紧急 and 演练 shown, the countdown running.
    expect(east).to_have_attribute("data-relay-state", "on", timeout=15_000)
    expect(east).to_contain_text("紧急")
    expect(west).to_have_attribute("data-relay-state", "off")
    on_air = page.locator(".onair.emergency")
    expect(on_air).to_contain_text("紧急")
    expect(on_air).to_contain_text("演练")
    expect(on_air).to_contain_text(f"正在播放：{CLIP_TITLE}")
    expect(on_air.locator(".countdown")).to_have_text(re.compile(r"剩余 \d\d:\d\d"))
    screenshot(page, "2-operator-emergency-on-air")

    # 停播 stops it, with a reason.
    page.click("#stop-button")
    c.confirm("演练结束")
    expect(east).to_have_attribute("data-relay-state", "off", timeout=15_000)
    expect(page.locator("#onair-list")).to_contain_text("现在没有播出")
    screenshot(page, "2-operator-stopped")

    # The record: the emergency on 东村, stopped by hand, in the table and the chart.
    page.click("#tabs a[data-tab=records]")
    row = page.locator("#rec-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("东村")
    expect(row).to_contain_text("紧急插播")
    expect(row).to_contain_text("演练")
    # In station time, though this browser runs in UTC.
    minutes = [(submitted + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M") for m in range(3)]
    expect(row.locator("td").first).to_have_text(re.compile("|".join(minutes)))
    expect(page.locator("#rep-chart svg.chart rect")).to_have_count(3)  # planned, aired, confirmed
    today = datetime.now(SH).date().isoformat()
    csv_link = page.locator("#rec-csv")
    expect(csv_link).to_have_attribute("href", re.compile(f"to={today}&format=csv$"))
    got = page.request.get(station.base + (csv_link.get_attribute("href") or ""))
    assert got.ok and got.headers["content-type"].startswith("text/csv")
    assert "east" in got.text()
    screenshot(page, "2-operator-records")
    page.select_option("#rec-zone", "west")
    expect(page.locator("#rec-table")).to_contain_text("这段时间没有播出记录")


def _approved_clip(station: Station, clip_file: Path) -> str:
    """The police clip, approved (over the API: the approval in the console is tested above)."""
    got = httpx2.post(
        f"{station.base}/api/media",
        headers={"Authorization": f"Bearer {station.tokens['li.jing']}"},
        files={"file": (clip_file.name, clip_file.read_bytes(), "audio/wav")},
        data={"title": CLIP_TITLE},
        timeout=30,
    )
    assert got.status_code in (200, 201), got.text
    clip = got.json()
    if clip["status"] != "approved":
        approved = httpx2.patch(
            f"{station.base}/api/media/{clip['id']}",
            headers={"Authorization": f"Bearer {station.tokens['wang.fang']}"},
            json={"status": "approved", "reason": "已核对"},
            timeout=10,
        )
        assert approved.status_code == 200, approved.text
    return str(clip["id"])


def test_operator_airs_and_stops_a_manual_airing_and_cancels_an_exercise_alert(
    console: Callable[..., Console], station: Station, clip_file: Path
) -> None:
    clip_id = _approved_clip(station, clip_file)
    c = console()
    page = c.login("wang.fang")
    east, west = page.locator('.zone[data-zone="east"]'), page.locator('.zone[data-zone="west"]')
    expect(east).to_have_attribute("data-relay-state", "off")

    # 手动插播: the playlist on 东村, now, for five minutes, at the manual priority.
    form = page.locator("#airing-form")
    expect(form).to_be_visible()
    page.select_option("#ai-what", "playlist:p")
    form.get_by_label("东村").check()
    page.fill("#ai-minutes", "5")
    expect(page.locator("#ai-priority")).to_have_value("70")
    page.fill("#ai-reason", "村委会通知，临时加播防诈提醒")
    page.click("#ai-submit")
    lines = page.locator("#confirm-lines")
    expect(lines).to_contain_text("区域：东村")
    expect(lines).to_contain_text("开始：立即")
    expect(lines).to_contain_text("播放 5 分钟")
    c.confirm("村委会通知，临时加播防诈提醒", shot="5-operator-manual-confirm")

    # On air: in the on-air panel with its source, priority and reason, and in the list.
    expect(east).to_have_attribute("data-relay-state", "on", timeout=15_000)
    expect(west).to_have_attribute("data-relay-state", "off")
    on_air = page.locator('.onair[data-source="manual"]')
    expect(on_air).to_contain_text("手动插播")
    expect(on_air).to_contain_text("优先级 70（手动插播）")
    expect(on_air).to_contain_text("原因：村委会通知，临时加播防诈提醒")
    manual = page.locator('.override[data-source="manual"][data-state="on_air"]')
    expect(manual).to_have_count(1)
    manual_id = manual.get_attribute("data-override")
    item = page.locator(f'.override[data-override="{manual_id}"]')
    expect(item).to_contain_text("正在播出")
    expect(item).to_contain_text("节目单：p")
    expect(item).to_contain_text("区域：东村")
    expect(item).to_contain_text("下达：wang.fang")
    screenshot(page, "5-operator-manual-on-air")

    # 停止, with a reason: the item stays in the list as stopped, the zone goes off.
    item.get_by_role("button", name="停止").click()
    c.confirm("通知已播完")
    expect(item).to_have_attribute("data-state", "stopped")
    expect(item).to_contain_text("已停止")
    expect(item).to_contain_text("通知已播完")
    expect(item.get_by_role("button")).to_have_count(0)
    expect(east).to_have_attribute("data-relay-state", "off", timeout=15_000)
    expect(page.locator("#onair-list")).to_contain_text("现在没有播出")
    screenshot(page, "5-operator-manual-stopped")

    # An exercise alert on 西村; 解除警报 sends a CAP cancel and it ends.
    em = page.locator("#emergency-form")
    em.get_by_label("西村").check()
    page.select_option("#em-clip", clip_id)
    page.fill("#em-repeats", "5")
    page.check("#em-exercise")
    page.fill("#em-reason", "演练解除警报流程")
    page.click("#em-submit")
    c.confirm("演练解除警报流程")
    expect(west).to_have_attribute("data-relay-state", "on", timeout=15_000)
    alert = page.locator('.override[data-source="emergency"][data-state="on_air"]')
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("演练")
    expect(page.locator(".onair.emergency")).to_contain_text("优先级 100（紧急插播）")
    alert_id = alert.get_attribute("data-override")
    alert.get_by_role("button", name="解除警报").click()
    expect(lines).to_contain_text("CAP cancel")
    c.confirm("演练结束，解除警报", shot="5-operator-cancel-alert-confirm")
    ended = page.locator(f'.override[data-override="{alert_id}"]')
    expect(ended).to_have_attribute("data-state", "stopped")
    expect(ended.get_by_role("button")).to_have_count(0)
    expect(west).to_have_attribute("data-relay-state", "off", timeout=15_000)
    expect(page.locator("#onair-list")).to_contain_text("现在没有播出")
    screenshot(page, "5-operator-alert-cancelled")

    # The admin's 审计日志 (on a phone): the four actions, newest first; the filter.
    admin = console(PHONE)
    adm = admin.login_token("zhao")
    assert "审计日志" in _tabs(adm)
    adm.click("#tabs a[data-tab=audit]")
    rows = adm.locator("#audit-table tr.audit-row")
    for action in ("airing.create", "airing.stop", "emergency.alert", "emergency.cancel"):
        expect(rows.filter(has_text=action).first).to_be_visible()
    expect(rows.first).to_have_attribute("data-action", "login")  # the admin's own, newest
    adm.fill("#audit-filter", str(manual_id))
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-action", "airing.stop")
    expect(rows.nth(0)).to_contain_text("通知已播完")
    expect(rows.nth(0)).to_contain_text("wang.fang")
    expect(rows.nth(1)).to_have_attribute("data-action", "airing.create")
    expect(rows.nth(1)).to_contain_text("村委会通知，临时加播防诈提醒")
    expect(rows.nth(1)).to_contain_text("值班员")
    expect(rows.nth(1)).to_contain_text("127.0.0.1")
    screenshot(adm, "5-admin-audit-phone")
    adm.fill("#audit-filter", "解除警报 演练结束")  # every word, in any column
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-action", "emergency.cancel")


def test_the_banner_shows_while_the_daemon_is_away(
    console: Callable[..., Console], station: Station
) -> None:
    c = console()
    c.errors.expected += ("ERR_CONNECTION_REFUSED", "ERR_EMPTY_RESPONSE")
    page = c.login("wang.fang")
    banner = page.locator("#banner")
    expect(page.locator('.zone[data-zone="east"]')).to_be_visible()
    expect(banner).to_be_hidden()

    # SIGTERM: the open event stream ends by itself, so the shutdown is not held up (uvicorn
    # waits for open responses before the lifespan ends).
    began = time.monotonic()
    station.daemon.stop()
    assert time.monotonic() - began < 10
    assert "Application shutdown complete" in station.daemon.log(), station.daemon.log()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("连接中断")
    screenshot(page, "4-connection-lost")

    station.daemon.start()
    expect(banner).to_be_hidden(timeout=20_000)
    expect(page.locator('.zone[data-zone="east"]')).to_be_visible()
