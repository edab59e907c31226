"""POST /api/led/messages: police push a warning, the screens show it, the audit log has it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from peers.daemon import ROOT
from test_cli_api import NightClock
from waiting import wait_for

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config


def test_police_push_a_warning_that_preempts_the_slogans(tmp_path: Path) -> None:
    for name in ("playlists", "audio"):
        shutil.copytree(ROOT / name, tmp_path / name)
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace('on_hours: {on: "06:00", off: "22:30"}', "charset: utf-8")
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    loaded = load_config(tmp_path / "config.yaml")
    users = UserStore(loaded.config.station.data_dir / "broadcastctl.sqlite3")
    police, operator = users.add("li.jing", "police"), users.add("wang", "operator")
    admin = users.add("zhao", "admin")
    users.close()
    warning = {"text": "警方提示：近期冒充客服退款诈骗高发", "minutes": 5, "reason": "新案例"}

    with TestClient(create_app(loaded, NightClock())) as client:
        assert client.post("/api/led/messages", json=warning).status_code == 401
        sent = client.post(
            "/api/led/messages", json=warning, headers={"Authorization": f"Bearer {police}"}
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["displays"] == ["square"] and sent.json()["by"] == "li.jing"
        bad = client.post(
            "/api/led/messages",
            json={**warning, "displays": ["nope"]},
            headers={"Authorization": f"Bearer {police}"},
        )
        assert bad.status_code == 422 and "no display" in bad.text

        def screens() -> list[dict[str, Any]]:
            displays: list[dict[str, Any]] = client.get("/api/status").json()["displays"]
            return displays

        def message_up() -> dict[str, Any] | None:
            (screen,) = screens()
            return screen if screen["mode"] == "message" else None

        screen = wait_for(message_up, 5)
        assert screen is not None, screens()
        assert screen["mode"] == "message" and screen["text"] == warning["text"]
        assert screen["showing"] == warning["text"]  # what the (fake) screen acknowledged
        audit = client.get("/api/audit", headers={"Authorization": f"Bearer {admin}"}).json()
        denied = client.get("/api/audit", headers={"Authorization": f"Bearer {operator}"})
        assert denied.status_code == 403
    (entry,) = [e for e in audit if e["action"] == "led.message"]
    assert (entry["user"], entry["target"], entry["reason"]) == ("li.jing", "square", "新案例")
