"""A config the daemon refuses reaches the people on duty (issue 11, item 5): `broadcastctl run`
on a file with an error tells the file's own `alerts:` channels at once (nothing else could:
the engine never starts), once per refusal, and a broken `alerts:` sends nothing. The real CLI
in a child process, a local webhook receiver."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from alert_receivers import Receiver
from peers.daemon import ROOT


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def refused_config(tmp_path: Path, alerts: dict[str, object]) -> Path:
    config = {
        "station": {"name": "测试站", "timezone": "Asia/Shanghai"},
        "schedule": {"slots": [{"name": "午间", "start": "12:00", "duration": "30m",
                                "playlist": "no-such-playlist"}]},  # the error
        "alerts": alerts,
    }  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.cli.main", "run", "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_refused_config_is_told_once(tmp_path: Path, receiver: Receiver) -> None:
    config = refused_config(
        tmp_path, {"channels": [{"name": "值班", "type": "webhook", "url": receiver.url}]}
    )
    first = run(config)
    assert first.returncode == 2, first.stderr
    assert "no-such-playlist" in first.stderr
    (got,) = receiver.wait_for(1)
    text = str(got.body)
    assert "配置被拒绝，守护进程未启动" in text and "config refused" in text
    assert "no-such-playlist" in text  # what is wrong, not only that something is
    again = run(config)  # systemd starting it again: the same refusal is not said twice
    assert again.returncode == 2
    assert len(receiver.received) == 1
    assert (tmp_path / "var" / "run" / "config-refused").exists()


def test_a_broken_alerts_section_sends_nothing(tmp_path: Path, receiver: Receiver) -> None:
    channel = {"name": "值班", "type": "webhook", "url": receiver.url, "timeout_s": float("nan")}
    config = refused_config(tmp_path, {"channels": [channel]})
    done = run(config)
    assert done.returncode == 2
    assert "alerts: is invalid too" in done.stderr
    assert receiver.received == []
