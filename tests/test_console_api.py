"""The web console's server side, in process: the page and its files, the status event stream,
the blackout preview."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_cli_api import NightClock

import controller.api.console as console
from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config
from controller.records.audit import AuditLog

WEB = console.WEB


def _users(config: Path) -> dict[str, str]:
    """A user per role; returns their API tokens. The operator also gets a password."""
    db = load_config(config).config.station.data_dir / "broadcastctl.sqlite3"
    users = UserStore(db)
    tokens = {role: users.add(f"u-{role}", role) for role in ("admin", "operator", "police")}
    users.set_password("u-operator", "长城长 2027")
    users.close()
    return tokens


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(shipped: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_config(shipped), NightClock())) as c:
        yield c


def _events(lines: Iterator[str], count: int) -> list[tuple[str, Any]]:
    """The next `count` SSE messages as (event or "comment" or "retry", data).

    The caller keeps `lines` (response.iter_lines()): dropping a half-read iterator closes
    the response."""
    out: list[tuple[str, Any]] = []
    event: dict[str, str] = {}
    for line in lines:
        if line.startswith(":"):
            out.append(("comment", line[1:].strip()))
        elif line.startswith("retry:"):
            out.append(("retry", int(line.split(":", 1)[1])))
        elif line.startswith(("event:", "data:")):
            key, _, value = line.partition(":")
            event[key] = value.strip()
        elif line == "" and event:
            out.append((event.get("event", "message"), json.loads(event["data"])))
            event = {}
        if len(out) >= count:
            break
    return out


# -- the page and its files ----------------------------------------------------------------------


def test_the_page_is_served_with_a_strict_content_security_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and "unsafe" not in csp
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    assert '<html lang="zh-CN">' in html and 'name="viewport"' in html
    # Nothing inline that the policy would block: every script is a file, no style or
    # event-handler attributes.
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ['<script type="module" src="/static/app.js">']
    assert not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html)
    for tab in ("登录", "总览", "音频库", "静默期", "播出记录", "审计日志", "停播", "紧急插播",
                "手动插播"):  # fmt: skip
        assert tab in html


def test_static_files_have_their_content_types_and_nothing_else_is_served(
    client: TestClient,
) -> None:
    page = client.get("/").text
    linked = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert {"/static/app.js", "/static/console.css", "/static/icon.svg"} <= set(linked)
    for path in linked:
        got = client.get(path)
        assert got.status_code == 200, path
        assert "content-security-policy" in got.headers
    assert client.get("/static/app.js").headers["content-type"] == "text/javascript; charset=utf-8"
    assert client.get("/static/console.css").headers["content-type"] == "text/css; charset=utf-8"
    for bad in ("/static/index.html", "/static/nope.js", "/static/..%2fapi_console.py",
                "/static/.hidden.js", "/static/APP.JS"):  # fmt: skip
        assert client.get(bad).status_code == 404, bad


def _modules() -> list[Path]:
    return sorted(WEB.glob("*.js"))


def _code(text: str) -> str:
    """The module without comments and single-quoted strings (template literals stay)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"'(?:[^'\\\n]|\\.)*'", "''", text)
    return re.sub(r"//[^\n]*", "", text)


def test_the_modules_import_what_they_use_and_use_no_markup() -> None:
    """A browser refuses the whole page when one named import is missing, and a name used
    but not imported fails only when that line runs (an error path): catch both here."""
    exports = {}
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        names = re.findall(r"^export (?:async )?(?:function|const|let|class) ([\w$]+)", text, re.M)
        exports[path.name] = set(names)
    assert {"app.js", "api.js", "ui.js", "overview.js", "stream.js"} <= set(exports)
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path.name
        assert "eval(" not in text and "new Function" not in text, path.name
        imported: set[str] = set()
        for names, source in re.findall(r"import \{([^}]*)\} from '\./([\w.]+)'", text):
            for name in (n.strip() for n in names.split(",") if n.strip()):
                assert name in exports[source], f"{path.name} imports {name} from {source}"
                imported.add(name)
        for source in re.findall(r"import \* as \w+ from '\./([\w.]+)'", text):
            assert source in exports, f"{path.name} imports missing {source}"
        code = _code(re.sub(r"^import [^;]+;", "", text, flags=re.M))
        local = set(re.findall(r"(?:function|const|let|class) ([\w$]+)", code))
        elsewhere = set().union(*exports.values()) - imported - local
        for name in elsewhere:
            used = re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w${{]|\s*:)", code)
            assert not used, f"{path.name} uses {name} without importing it"
        for name in imported:
            assert re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])", code), (
                f"{path.name} imports {name} and does not use it"
            )


def test_the_javascript_parses() -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed: the browser tests load the modules instead")
    for path in _modules():
        checked = subprocess.run(
            [node, "--input-type=module", "--check"],
            input=path.read_bytes(),
            capture_output=True,
            check=False,
        )
        assert checked.returncode == 0, f"{path.name}: {checked.stderr.decode()}"


def test_the_web_files_are_package_data() -> None:
    root = WEB.parents[2]
    setup = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    package = ".".join(WEB.parent.relative_to(root).parts)  # the package the files sit in
    assert package == "controller.api"
    assert "web/*" in setup["setuptools"]["package-data"][package]


# -- the event stream ----------------------------------------------------------------------------


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "TICK_S", 0.02)
    monkeypatch.setattr(console, "KEEPALIVE_S", 0.1)


def test_events_need_a_login_and_send_the_status_at_once(shipped: Path, quick: None) -> None:
    tokens = _users(shipped)
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        assert client.get("/api/events").status_code == 401
        login = client.post("/api/login", json={"user": "u-operator", "password": "长城长 2027"})
        assert login.status_code == 200, login.text
        assert "bcsession" in client.cookies
        with client.stream("GET", "/api/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-cache"
            (retry, _), (kind, status), (comment, text) = _events(stream.iter_lines(), 3)
        assert retry == "retry" and kind == "status" and (comment, text) == ("comment", "keepalive")
        assert status == client.get("/api/status").json()
        assert status["station"] == "石桥镇广电站" and status["now"] == "2027-06-01T03:00:00+08:00"

        client.cookies.clear()
        with client.stream("GET", "/api/events", headers=_bearer(tokens["police"])) as stream:
            assert stream.status_code == 200
            assert _events(stream.iter_lines(), 2)[1][0] == "status"


def test_events_follow_a_change(shipped: Path, quick: None) -> None:
    tokens = _users(shipped)
    admin = _bearer(tokens["admin"])
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        with client.stream("GET", "/api/events", headers=admin) as stream:
            lines = stream.iter_lines()
            first = _next_status(lines)
            assert [a["status"] for a in first["next"][:3]] == ["scheduled"] * 3
            quiet = {"name": "停电检修", "start": "2027-06-01T06:00", "end": "2027-06-01T23:00",
                     "zones": "all", "reason": "线路检修"}  # fmt: skip
            assert client.post("/api/blackouts", json=quiet, headers=admin).status_code == 201
            changed = _next_status(lines)
        assert [a["status"] for a in changed["next"][:3]] == ["blackout"] * 3


def _next_status(lines: Iterator[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith("data:"):
            found: dict[str, Any] = json.loads(line[5:])
            return found
    raise AssertionError("the stream ended")


def test_open_streams_are_capped(
    shipped: Path, quick: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = _users(shipped)
    monkeypatch.setattr(console, "MAX_STREAMS", 1)
    police = _bearer(tokens["police"])
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        with client.stream("GET", "/api/events", headers=police) as first:
            lines = first.iter_lines()
            assert _events(lines, 2)[1][0] == "status"
            refused = client.get("/api/events", headers=police)
            assert refused.status_code == 503 and "实时连接过多" in refused.text
            assert refused.headers["retry-after"] == "10"
        with client.stream("GET", "/api/events", headers=police) as again:  # its place came back
            assert again.status_code == 200


def test_a_stream_ends_when_the_server_is_stopping(
    shipped: Path, quick: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = _users(shipped)
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        with client.stream("GET", "/api/events", headers=_bearer(tokens["police"])) as stream:
            lines = stream.iter_lines()
            _next_status(lines)
            monkeypatch.setattr(console, "server_exiting", lambda: True)
            rest = list(lines)  # returns: the body ended by itself
        assert all(line.startswith(":") or not line for line in rest)


def test_a_stream_ends_after_its_maximum_age(
    shipped: Path, quick: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So a session ended meanwhile stops getting status: the browser reconnects, and is
    asked for its login again."""
    tokens = _users(shipped)
    monkeypatch.setattr(console, "MAX_STREAM_S", 0.3)
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        with client.stream("GET", "/api/events", headers=_bearer(tokens["police"])) as stream:
            lines = list(stream.iter_lines())  # returns: the body ended by itself
        assert "event: status" in lines and lines[0] == "retry: 1000"


class _FakeServer:
    should_exit = False

    def handle_exit(self, sig: int, frame: object) -> None:
        self.should_exit = True


def test_server_exiting_reads_uvicorns_signal_handler() -> None:
    assert console.server_exiting() is False  # pytest's own handler: not a server
    server = _FakeServer()
    previous = signal.signal(signal.SIGTERM, server.handle_exit)
    try:
        assert console.server_exiting() is False
        server.should_exit = True
        assert console.server_exiting() is True
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- the blackout preview ------------------------------------------------------------------------

MARKET_NOON = {
    "name": "集镇检修",
    "start": "2027-06-12T11:00:00",
    "end": "2027-06-12T14:00:00",
    "zones": ["market"],
    "reason": "线路检修",
}


def test_the_preview_lists_the_silenced_airings_and_stores_nothing(shipped: Path) -> None:
    tokens = _users(shipped)
    admin = _bearer(tokens["admin"])
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        before = client.get("/api/blackouts", headers=admin).json()
        plan_before = client.get("/api/plan", params={"from": "2027-06-12", "days": 1}).json()

        day = {**MARKET_NOON, "name": "中考", "start": "2027-06-12T00:00",
               "end": "2027-06-13T00:00", "zones": "all"}  # fmt: skip
        got = client.post("/api/blackouts/preview", json=day, headers=admin)
        assert got.status_code == 200, got.text
        body = got.json()
        assert (body["start"], body["end"], body["zones"], body["threshold"]) == (
            "2027-06-12T00:00:00+08:00", "2027-06-13T00:00:00+08:00", "all", 100,
        )  # fmt: skip
        assert [(a["slot"], a["status"]) for a in body["silences"]] == [
            ("早间", "blackout"),
            ("午间", "blackout"),
            ("晚间", "blackout"),
        ]
        assert {z["blackout"] for a in body["silences"] for z in a["zones"]} == {"中考"}

        # One zone at noon: the airing is cut there only, as the plan would show it.
        (noon,) = client.post("/api/blackouts/preview", json=MARKET_NOON, headers=admin).json()[
            "silences"
        ]
        assert noon["slot"] == "午间" and noon["status"] == "cut"
        assert {z["zone"]: z["status"] for z in noon["zones"]} == {
            "east-village": "scheduled", "west-village": "scheduled", "market": "blackout",
        }  # fmt: skip

        # A threshold at the schedule's priority lets the schedule through.
        low = client.post("/api/blackouts/preview", json={**day, "threshold": 50}, headers=admin)
        assert low.status_code == 200 and low.json()["silences"] == []

        # Stored: nothing. The plan: unchanged.
        assert client.get("/api/blackouts", headers=admin).json() == before
        assert client.get("/api/plan", params={"from": "2027-06-12", "days": 1}).json() == (
            plan_before
        )

        # Admin only, and bad input is refused like POST /api/blackouts refuses it.
        for role in ("operator", "police"):
            refused = client.post("/api/blackouts/preview", json=day, headers=_bearer(tokens[role]))
            assert refused.status_code == 403
        assert client.post("/api/blackouts/preview", json=day).status_code == 401
        backwards = {**day, "end": day["start"]}
        bad = client.post("/api/blackouts/preview", json=backwards, headers=admin)
        assert bad.status_code == 422 and "结束时间须晚于开始时间" in bad.text
        bad = client.post("/api/blackouts/preview", json={**day, "zones": ["moon"]}, headers=admin)
        assert bad.status_code == 422 and "未知区域 moon" in bad.text
        bad = client.post("/api/blackouts/preview", json={**day, "threshold": 300}, headers=admin)
        assert bad.status_code == 422

    audit = AuditLog(load_config(shipped).config.station.data_dir / "broadcastctl.sqlite3")
    actions = {e.action for e in audit.list()}
    audit.close()
    assert not any(a.startswith("blackout") for a in actions)


def test_the_preview_with_a_console_session_needs_the_csrf_header(shipped: Path) -> None:
    db = load_config(shipped).config.station.data_dir / "broadcastctl.sqlite3"
    users = UserStore(db)
    users.add("boss", "admin")
    users.set_password("boss", "s3cret-enough")
    users.close()
    with TestClient(create_app(load_config(shipped), NightClock())) as client:
        login = {"user": "boss", "password": "s3cret-enough"}
        assert client.post("/api/login", json=login).is_success
        plain = client.post("/api/blackouts/preview", json=MARKET_NOON)
        assert plain.status_code == 403
        sent = client.post(
            "/api/blackouts/preview",
            json=MARKET_NOON,
            headers={"X-Requested-With": "broadcastctl"},
        )
        assert sent.status_code == 200 and len(sent.json()["silences"]) == 1
