"""Hostile config values that pass one by one: limits that fail only together (the re-arm and
the dead-man margin, a relay's own timer, a card's fonts) or on disk (paths that cannot be
folders); the shipped config passes them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_config import STATION, line_of, messages_of, set_value, station

from controller.config import load_config

CROSS: list[tuple[str, str, str, str]] = [
    # (key, written value, dotted path, message after "config.yaml:<line>: <path>: ")
    (
        "rearm_s",
        "90",
        "schedule.rearm_s",
        "90 秒长于 schedule.deadman_margin_s（60 秒），请缩短 / 90 s is longer than"
        " schedule.deadman_margin_s (60 s); re-arm at least once per margin",
    ),
    (
        "max_s",
        "1",
        "media.max_s",
        "1 秒不大于 media.min_s（1 秒）/ 1 s is not above media.min_s (1 s):"
        " no clip could be accepted",
    ),
    (
        "data_dir",
        "/dev/null/x",
        "station.data_dir",
        "/dev/null 不是文件夹 / /dev/null is a device or special file, not a folder,"
        " so /dev/null/x cannot be one",
    ),
    (
        "dir",
        "/dev/null",
        "audio.output.dir",
        "/dev/null 不是文件夹 / /dev/null is a device or special file, not a folder",
    ),
    (
        "data_dir",
        "x" * 256,
        "station.data_dir",
        "路径中有超过 255 字节的名称 / a name in the path is longer than 255 bytes",
    ),
    (
        "data_dir",
        "/" + "d/" * 2048,
        "station.data_dir",
        "路径过长（超过 4095 字节） / the path is longer than 4095 bytes",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "dotted", "message"), CROSS, ids=[f"{k}={v[:12]}" for k, v, *_ in CROSS]
)
def test_values_that_only_fail_together_or_on_disk(
    tmp_path: Path, key: str, value: str, dotted: str, message: str
) -> None:
    text = set_value(key, value)
    line = line_of(text, f"{key}: {value}")
    assert messages_of(station(tmp_path, text)) == [f"config.yaml:{line}: {dotted}: {message}"]


def test_a_file_where_the_data_folder_should_be(tmp_path: Path) -> None:
    path = station(tmp_path, set_value("data_dir", "state/db"))
    (tmp_path / "state").write_text("not a folder")
    assert messages_of(path) == [
        f"config.yaml:3: station.data_dir: {tmp_path}/state 不是文件夹 / {tmp_path}/state is a"
        f" file, not a folder, so {tmp_path}/state/db cannot be one"
    ]


RELAY = "  - {id: r, type: fake, channels: 4, confirm_delay_s: 0}\n"


def test_rearm_must_beat_a_modbus_boards_own_timer(tmp_path: Path) -> None:
    board = "  - {id: r, type: modbus-rtu, port: /dev/ttyUSB0, profile: r421a08, timeout_s: 2}\n"
    text = set_value("deadman_margin_s", "600", set_value("rearm_s", "250", STATION))
    text = text.replace(RELAY, board)
    assert messages_of(station(tmp_path, text)) == [
        f"config.yaml:{line_of(text, 'rearm_s')}: schedule.rearm_s: 重新设定间隔（含应答 256 秒）"
        "不短于继电器 r 的定时上限 255 秒 / a re-arm every 250 s (plus 6 s for relay 'r' to"
        " answer) does not come before its r421a08 board's own timer of at most 255 s runs out"
    ]


def test_a_slot_longer_than_tasmotas_pulsetime(tmp_path: Path) -> None:
    text = STATION.replace(RELAY, "  - {id: r, type: tasmota, topic: t, channels: 4}\n")
    text = set_value("duration", "18h", text)
    line = line_of(text, "duration: 18h")
    # 18 h + preroll 5 + margin 60 for the zone; the amplifier adds settle 1 and postroll 2.
    assert messages_of(station(tmp_path, text)) == [
        f"config.yaml:{line}: schedule.slots[0].duration: 定时关闭需 64868 秒，超过 Tasmota 上限"
        " 64800 秒 / needs a dead-man of 64868 s, more than Tasmota relay 'r' takes (64800 s);"
        " split the slot"
    ]


def test_an_onbon_font_the_card_does_not_have(tmp_path: Path) -> None:
    text = STATION + "displays:\n  - {id: sq, type: onbon-bx6k, host: 10.0.0.5, font_size: 20}\n"
    assert messages_of(station(tmp_path, text)) == [
        f"config.yaml:{line_of(text, 'font_size')}: displays[0].font_size: 字号 20 不受支持"
        "（可用 16/24/32）/ font_size 20 px: the card has 16/24/32 px fonts"
    ]


def test_the_shipped_config_passes_the_new_bounds() -> None:
    loaded = load_config(Path(__file__).parent.parent / "config.yaml")
    assert loaded.config.schedule.rearm_s <= loaded.config.schedule.deadman_margin_s
