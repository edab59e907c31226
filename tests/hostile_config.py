"""The station the hostile-value config tests change one value of at a time, and the helpers
that write it, find a value's line and read back the errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.config import ConfigError, load_config


def messages_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.messages


STATION = """\
station:
  name: 测试站
  data_dir: var
mqtt:
  reconnect_max_s: 30
audio:
  output: {type: file, dir: var/aircheck, keep_days: 31}
  fade_out_s: 3
  gap_s: 2
  sample_rate: 48000
relays:
  - {id: r, type: fake, channels: 4, confirm_delay_s: 0}
zones:
  - {id: east, name: 东村, relays: ["r:1"]}
amplifiers:
  - {relay: "r:4", settle_s: 1}
schedule:
  preroll_s: 5
  postroll_s: 2
  min_join_s: 60
  deadman_margin_s: 60
  rearm_s: 30
  slots:
    - {name: 早间, start: 07:00, duration: 30m, playlist: p}
blackouts:
  - {name: 高考, start: 2027-06-07T00:00, end: 2027-06-11T00:00}
led:
  dwell_s: 10
media:
  target_lufs: -16
  true_peak_db: -1.5
  min_s: 1
  max_s: 3600
  max_upload_mb: 200
"""


def station(root: Path, text: str) -> Path:
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "audio" / "a.wav").write_bytes(b"RIFF")
    (root / "playlists").mkdir(exist_ok=True)
    (root / "playlists" / "p.yaml").write_text("clips: [a.wav]\n", encoding="utf-8")
    path = root / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def set_value(key: str, value: str, text: str = STATION) -> str:
    """`text` with the one `key: ...` value replaced, flow or block style; `key` may carry the
    start of the old value (`start: 2027`) to tell two keys of the same name apart."""
    found = re.findall(rf"\b{re.escape(key)}[^,}}\n]*", text)
    assert len(found) == 1, (key, found)
    return text.replace(found[0], f"{key.partition(':')[0]}: {value}")


def line_of(text: str, needle: str) -> int:
    (line,) = [n for n, row in enumerate(text.splitlines(), 1) if needle in row]
    return line
