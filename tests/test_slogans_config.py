"""Slogans load with the config and are checked against every screen's character set."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from peers.daemon import ROOT

from controller.config import ConfigError, load_config

ONBON = """
displays:
  - {id: square, type: onbon-bx6k, host: 127.0.0.1, width: 128, height: 32}
  - {id: board, type: mqtt-text, topic: led/board, charset: utf-8}
led: {slogans: slogans, dwell_s: 10, displays: all}
"""


@pytest.fixture
def station(tmp_path: Path) -> Path:
    for name in ("playlists", "audio"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shipped = (ROOT / "config.yaml").read_text(encoding="utf-8")
    # the shipped fake screen and led section give way to this test's screens
    config = re.sub(r"(?ms)^displays:.*?(?=^blackouts:)", "", shipped) + ONBON
    (tmp_path / "config.yaml").write_text(config, encoding="utf-8")
    return tmp_path


def test_the_shipped_slogans_fit_an_onbon_card(station: Path) -> None:
    loaded = load_config(station / "config.yaml")
    texts = [s.text for s in loaded.slogans]
    assert len(texts) >= 16
    assert any(t.startswith("六个一律") for t in texts) and any(t.startswith("凡是") for t in texts)


def test_a_character_outside_gb2312_names_the_slogan_and_the_character(station: Path) -> None:
    path = station / "playlists" / "slogans.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "一律挂掉！, color: red}", "一律挂掉🚨, color: red}", 1
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(station / "config.yaml")
    (message,) = err.value.messages
    assert message.startswith("slogans.yaml:")
    assert "slogans[0].text" in message and "U+1F6A8" in message and "'square'" in message
    # the UTF-8 screen can show it: only the Onbon card is named
    assert "'board'" not in message


def test_unknown_led_display_is_a_config_error(station: Path) -> None:
    path = station / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("displays: all}", "displays: [nope]}"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert any("led.displays[0]: no display 'nope'" in m for m in err.value.messages)
