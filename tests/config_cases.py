"""The station config the config tests start from, and the helpers that edit and load it."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from controller.config import ConfigError, load_config

SH = ZoneInfo("Asia/Shanghai")

BASE = """\
station:
  name: 测试站
  timezone: Asia/Shanghai
audio:
  fade_out_s: 3
relays:
  - {id: r, type: fake, channels: 4}
zones:
  - {id: east, name: 东村, relays: ["r:1"]}
  - {id: west, name: 西村, relays: ["r:2"]}
amplifiers:
  - {relay: "r:4", settle_s: 1}
schedule:
  slots:
    - {name: 早间, start: 07:00, duration: 30m, playlist: anti-fraud, zones: all}
    - {name: 午间, start: 12:00, duration: 30m, playlist: anti-fraud, zones: [east]}
blackouts:
  - {name: 高考, start: 2027-06-07T00:00, end: 2027-06-11T00:00, zones: all}
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line of `text` containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def make_station(root: Path, config_text: str = BASE) -> Path:
    """A station folder: config.yaml, audio/a.mp3 and playlists/anti-fraud.yaml."""
    (root / "audio").mkdir(parents=True)
    (root / "audio" / "a.mp3").write_bytes(b"ID3")
    (root / "playlists").mkdir()
    (root / "playlists" / "anti-fraud.yaml").write_text("clips: [a.mp3]\n", encoding="utf-8")
    path = root / "config.yaml"
    path.write_text(config_text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == "\n".join(caught.value.messages)
    return caught.value.messages


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)
