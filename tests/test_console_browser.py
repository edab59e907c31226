"""The web console in headless Chromium against the real daemon process: police upload, the
operator approves and airs an emergency, the admin enters a blackout, the operator airs and
stops a manual airing and cancels an alert, the admin's audit log, the live stream's banner.

One daemon for the module (fake relays and screens, a short preroll); each test logs in through
its own browser context. Screenshots go to test-artifacts/console/ (git-ignored).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from browser import PageErrors, chromium, screenshot
from media_files import tone
from peers.daemon import ROOT, SH, Daemon, StationDir
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

pytestmark = pytest.mark.timeout(120)
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
    st = Station(tmp_path_factory.mktemp("console"))
    st.add_users()
    st.daemon.start()
    try:
        yield st
    finally:
        st.daemon.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


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


def _police_upload(station: Station, clip_file: Path) -> None:
    """The police clip of the first test, so this test also runs alone (same audio: the
    daemon answers with the clip already uploaded)."""
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
    assert _tabs(page) == ["总览", "音频库", "静默期", "播出记录"]
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
