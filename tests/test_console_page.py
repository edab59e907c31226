"""The web console's page and its files, in process: a strict content security policy, the
static files and nothing else, modules that import what they use, package data."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_cli_api import NightClock

import controller.api.console as console
from controller.api.app import create_app
from controller.config import load_config

WEB = console.WEB


@pytest.fixture
def client(shipped: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_config(shipped), NightClock())) as c:
        yield c


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
    for tab in ("登录", "总览", "音频库", "静默期", "播出记录", "告警", "审计日志", "停播",
                "紧急插播", "手动插播"):  # fmt: skip
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
