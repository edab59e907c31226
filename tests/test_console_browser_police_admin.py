"""The web console in headless Chromium against the real daemon process, as the police and the
admin use it: the police log in with a password, push a warning to the screens and upload a
clip; the admin previews a blackout, enters it, and the plan shows it.

The module has a daemon of its own (tests/rig_web.py; the browser is shared), apart from the
operator's tests; each test logs in through its own browser context. Screenshots go to
test-artifacts/console/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from browser import screenshot
from peers.daemon import SH
from playwright.sync_api import expect
from rig_web import CLIP_TITLE, PHONE, Console, Station, _tabs, clip_file, console, station

__all__ = ["clip_file", "console", "station"]  # the fixtures, so pytest finds them
pytestmark = pytest.mark.timeout(120)


def test_police_log_in_with_a_password_and_upload_a_clip(
    console: Callable[..., Console], clip_file: Path
) -> None:
    c = console(PHONE)
    page = c.login("li.jing")
    assert _tabs(page) == ["总览", "音频库", "静默期"]  # no records for police
    expect(page.locator("#stop-button")).to_be_hidden()
    expect(page.locator("#emergency-card")).to_be_hidden()
    expect(page.locator("#led-form")).to_be_visible()  # police may push a warning
    page.fill("#led-text", "警惕冒充客服退款诈骗")
    page.fill("#led-reason", "本周多发")
    page.click("#led-form button[type=submit]")
    c.confirm("本周多发")
    screen = page.locator('.screen[data-display="square"]')
    expect(screen.locator(".screen-text")).to_have_text("警惕冒充客服退款诈骗")
    expect(screen).to_contain_text("临时消息")
    screenshot(page, "1-police-overview-phone")

    page.click("#tabs a[data-tab=media]")
    expect(page.locator("#upload-card")).to_be_visible()
    page.set_input_files("#up-file", str(clip_file))
    page.fill("#up-title", CLIP_TITLE)
    page.fill("#up-tags", "反诈，案例")
    page.fill("#up-reason", "本周新发案例")
    page.click("#up-submit")

    expect(page.locator("#up-stage")).to_have_text("完成")
    expect(page.locator("#up-bar")).to_have_js_property("value", 100)
    result = page.locator("#upload-result .result")
    expect(result).to_contain_text(CLIP_TITLE)
    expect(result).to_contain_text("待审核")
    expect(result).to_contain_text(re.compile(r"时长：4秒"))
    expect(result).to_contain_text(re.compile(r"播出 -16\.0 LUFS"))
    card = page.locator(".clip-card", has_text=CLIP_TITLE)
    expect(card).to_have_attribute("data-status", "pending")
    expect(card.locator("audio")).to_have_attribute("src", re.compile(r"^/api/media/\w+/audio$"))
    expect(card.get_by_role("button", name="批准播出")).to_have_count(0)  # police cannot
    screenshot(page, "1-police-upload-phone")


def test_admin_previews_a_blackout_and_the_plan_shows_it(
    console: Callable[..., Console], station: Station
) -> None:
    c = console()
    page = c.login_token("zhao")
    expect(page.locator("#who-name")).to_contain_text("zhao（管理员）")

    tomorrow = (datetime.now(SH) + timedelta(days=1)).date()
    after = tomorrow + timedelta(days=1)
    page.click("#tabs a[data-tab=blackouts]")
    expect(page.locator("#blackout-create")).to_be_visible()
    page.fill("#bo-name", "中考")
    page.fill("#bo-start", f"{tomorrow.isoformat()}T00:00")
    page.fill("#bo-end", f"{after.isoformat()}T00:00")
    page.fill("#bo-reason", "中考期间考点周边禁止广播")
    expect(page.locator("#bo-save")).to_be_disabled()
    page.click("#bo-preview")

    silenced = page.locator("#bo-preview-result li")
    expect(silenced).to_have_count(2)
    for slot in ("上午", "下午"):
        expect(silenced.filter(has_text=slot)).to_contain_text("整段静默")
    expect(page.locator("#bo-preview-result")).to_contain_text("将静默以下 2 次播出")
    screenshot(page, "3-admin-blackout-preview")

    page.click("#bo-save")
    c.confirm("中考期间考点周边禁止广播")
    expect(page.locator("#toast")).to_contain_text("静默期已保存")
    expect(page.locator(".blackout-item", has_text="中考")).to_contain_text("控制台添加")

    page.click("#tabs a[data-tab=overview]")
    day = page.locator(f'.plan-day[data-day="{tomorrow.isoformat()}"]')
    expect(day.locator('.plan-airing[data-status="blackout"]')).to_have_count(2)
    expect(day).to_contain_text("静默：中考")
    today = page.locator(f'.plan-day[data-day="{datetime.now(SH).date().isoformat()}"]')
    expect(today.locator('.plan-airing[data-status="blackout"]')).to_have_count(0)
    screenshot(page, "3-admin-plan-with-blackout")
