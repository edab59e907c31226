"""GET /api/alerts and POST /api/alerts/test (admin): per channel what happened, no secrets,
the test kept in the list with its delivery states; a crash the supervisor queued."""

from __future__ import annotations

from pathlib import Path

import pytest
from alert_receivers import Receiver, unused_port
from fastapi.testclient import TestClient
from test_cli_api import NightClock

from controller.access.users import UserStore
from controller.alerts.outbox import NEW, AlertOutbox
from controller.api.app import create_app
from controller.config import load_config
from controller.daemon.supervisor import Supervisor


def _config(shipped: Path, good: str, refusing: str) -> Path:
    dead = f"http://127.0.0.1:{unused_port()}/send?key=dead-robot-key"
    text = (
        "\nalerts:\n  channels:\n"
        f"    - {{name: ops, type: webhook, url: '{good}'}}\n"
        f"    - {{name: 钉钉, type: dingtalk, url: '{refusing}?access_token=tok',"
        " secret: env:TEST_API_DT_SECRET}\n"
        f"    - {{name: 值班群, type: wecom, url: '{dead}', timeout_s: 2}}\n"
    )
    shipped.write_text(shipped.read_text(encoding="utf-8") + text, encoding="utf-8")
    return shipped


def test_an_admin_sends_a_test_on_every_channel(
    shipped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_API_DT_SECRET", "SECsupersecret")
    good, refusing = Receiver(), Receiver(answer={"errcode": 310000, "errmsg": "sign not match"})
    loaded = load_config(_config(shipped, good.url, refusing.url))
    users = UserStore(loaded.config.station.data_dir / "broadcastctl.sqlite3")
    admin, operator = users.add("zhao", "admin"), users.add("wang", "operator")
    users.close()
    try:
        with TestClient(create_app(loaded, NightClock())) as client:
            as_admin = {"Authorization": f"Bearer {admin}"}
            as_operator = {"Authorization": f"Bearer {operator}"}
            assert client.post("/api/alerts/test", headers=as_operator).status_code == 403
            answer = client.post("/api/alerts/test", headers=as_admin)
            listed = client.get("/api/alerts", headers=as_operator)
            assert client.get("/api/alerts").status_code == 401
    finally:
        good.close()
        refusing.close()
    assert answer.status_code == 200, answer.text
    said = {c["name"]: (c["ok"], c["detail"]) for c in answer.json()["channels"]}
    assert said["ops"] == (True, "已送达 / delivered")
    assert said["钉钉"][0] is False and "errcode 310000" in said["钉钉"][1]
    assert said["值班群"][0] is False and said["值班群"][1].startswith("连接失败")
    sent = good.received[0].body
    assert sent["test"] is True and "测试告警（zhao 发送）" in sent["text"]
    for text in (answer.text, listed.text):
        assert "dead-robot-key" not in text and "supersecret" not in text and "tok" not in text
    body = listed.json()
    assert [c["name"] for c in body["channels"]] == ["ops", "钉钉", "值班群"]
    (test,) = body["alerts"]
    assert test["kind"] == "test" and test["at"].endswith("+08:00")
    states = {d["channel"]: d["state"] for d in test["deliveries"]}
    assert states == {"ops": "sent", "钉钉": "failed", "值班群": "failed"}


def test_with_no_channels_the_test_says_so(shipped: Path) -> None:
    loaded = load_config(shipped)
    users = UserStore(loaded.config.station.data_dir / "broadcastctl.sqlite3")
    admin = users.add("zhao", "admin")
    users.close()
    with TestClient(create_app(loaded, NightClock())) as client:
        answer = client.post("/api/alerts/test", headers={"Authorization": f"Bearer {admin}"})
    assert answer.json() == {"message": "未配置告警渠道 / no alert channels configured",
                             "channels": []}  # fmt: skip


def test_the_supervisor_queues_a_crash_for_the_engine(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "config.yaml", tmp_path)
    supervisor._tell_crash("engine", "signal SIGKILL")
    outbox = AlertOutbox(tmp_path / "broadcastctl.sqlite3")
    (queued,) = outbox.unrouted()
    outbox.close()
    assert queued.routed == NEW and queued.alert.kind == "daemon_restarted"
    assert queued.alert.text.startswith("播出引擎异常退出（signal SIGKILL），已自动重启")
