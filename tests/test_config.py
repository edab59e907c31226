"""Config loading: the strict YAML reader and line-numbered schema errors."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from config_cases import BASE, SH, edit, errors_of, line_of, make_station

from controller.config import Config, LoadedConfig, Playlist, load_config
from controller.config.yamlio import YamlError, parse_yaml

# --- the strict YAML reader ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("12:00", "12:00"),  # PyYAML alone: 720
        ("7:05", "7:05"),  # PyYAML alone: 425
        ("19:45:00", "19:45:00"),  # PyYAML alone: 71100
        ("25:00", "25:00"),  # time-shaped stays text, so the schema can name it
        ("'12:00'", "12:00"),
        ('"7:05"', "7:05"),
        ("190:00", 11400),  # not time-shaped: resolves like SafeLoader
        ("on", True),
        ("0755", 493),
        ("1.5", 1.5),
        ("~", None),
        ("2026-06-07", date(2026, 6, 7)),
        ("2027-06-07 08:00:00+08:00", datetime(2027, 6, 7, 8, tzinfo=SH)),
    ],
)
def test_scalars_resolve_like_safeloader_except_times_of_day(source: str, expected: Any) -> None:
    data, _ = parse_yaml(f"a: {source}\n", "t.yaml")
    assert data == {"a": expected}
    assert type(data["a"]) is type(expected)


def test_locator_finds_lines_of_keys_items_and_missing_children() -> None:
    text = "top:\n  items:\n    - {x: 1}\n    - y: 2\n      z: 3\n"
    data, at = parse_yaml(text, "t.yaml")
    assert data == {"top": {"items": [{"x": 1}, {"y": 2, "z": 3}]}}
    assert at.line(("top", "items", 0, "x")) == 3
    assert at.line(("top", "items", 1, "z")) == 5
    assert at.line(("top", "items", 1, "missing")) == 4  # a missing key: its parent's line
    assert at.error(("top", "items", 1, "z"), "bad") == "t.yaml:5: top.items[1].z: bad"


def test_duplicate_keys_are_all_reported_with_lines() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"
    with pytest.raises(YamlError) as caught:
        parse_yaml(text, "t.yaml")
    assert caught.value.messages == [
        "t.yaml:4: b.c: duplicate key 'c' (already set on line 3)",
        "t.yaml:5: a: duplicate key 'a' (already set on line 1)",
    ]


def test_merge_keys_work_and_written_keys_win() -> None:
    data, at = parse_yaml("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n", "t.yaml")
    assert data["m"] == {"x": 1, "y": 3}
    assert at.line(("m", "y")) == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: b: c\n", "t.yaml:1: YAML syntax error: mapping values are not allowed here"),
        ("x: &a [*a]\n", "t.yaml:1: x[0]: an alias refers to itself (a loop)"),
        ("a: !!python/object:os.system x\n", "t.yaml:1: cannot read value: could not determine"),
        ("a:\t1\n", "t.yaml:1: YAML syntax error: found character '\\t'"),
    ],
)
def test_bad_yaml_is_a_yaml_error_with_a_line(text: str, message: str) -> None:
    with pytest.raises(YamlError) as caught:
        parse_yaml(text, "t.yaml")
    assert caught.value.messages[0].startswith(message)


# --- load_config: schema errors --------------------------------------------------------------


def test_the_base_config_loads(tmp_path: Path) -> None:
    loaded = load_config(make_station(tmp_path))
    assert isinstance(loaded, LoadedConfig)
    assert isinstance(loaded.config, Config)
    assert [s.name for s in loaded.config.schedule.slots] == ["早间", "午间"]
    assert isinstance(loaded.playlists["anti-fraud"], Playlist)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("12:00", time(12, 0)),
        ("7:45", time(7, 45)),
        ("'18:30'", time(18, 30)),
        ("6:00:30", time(6, 0, 30)),
    ],
)
def test_unquoted_times_of_day_are_wall_clock_times(
    tmp_path: Path, written: str, expected: time
) -> None:
    text = edit("anti-fraud, zones: all}", "anti-fraud, zones: [west]}")  # no overlap with 早间
    path = make_station(tmp_path, edit("start: 12:00", f"start: {written}", text))
    assert load_config(path).config.schedule.slots[1].start == expected


@pytest.mark.parametrize(
    ("written", "seconds"), [("30m", 1800.0), ("90s", 90.0), ("1h30m", 5400.0), ("45", 45.0)]
)
def test_durations(tmp_path: Path, written: str, seconds: float) -> None:
    path = make_station(
        tmp_path,
        edit(
            "duration: 30m, playlist: anti-fraud, zones: [east]",
            f"duration: {written}, playlist: anti-fraud, zones: [east]",
        ),
    )
    assert load_config(path).config.schedule.slots[1].duration == seconds


SCHEMA_CASES: list[tuple[str, str, str, str]] = [
    # (old, new, needle for the line, expected message after "config.yaml:<line>: ")
    (
        "start: 12:00",
        "start: '25:00'",
        "25:00",
        "schedule.slots[1].start: '25:00' is not a time of day",
    ),
    (
        "start: 12:00",
        "start: 25:00",
        "25:00",
        "schedule.slots[1].start: '25:00' is not a time of day",
    ),
    (
        "duration: 30m, playlist: anti-fraud, zones: [east]",
        "duration: 1:30, playlist: anti-fraud, zones: [east]",
        "1:30",
        "schedule.slots[1].duration: '1:30' is not a duration (use 30m, 90s, 1h30m or seconds)",
    ),
    (
        "  fade_out_s: 3",
        "  fade_out_s: 3\n  prot: 1",
        "prot",
        "audio.prot: unknown key 'prot' (not allowed here)",
    ),
    (
        "{name: 午间, start: 12:00, duration: 30m, ",
        "{name: 午间, start: 12:00, ",
        "午间",
        "schedule.slots[1].duration: required key is missing",
    ),
    (
        "{id: r, type: fake, channels: 4}",
        "{id: r, type: x10, channels: 4}",
        "x10",
        "relays[0].type: 'x10' is not a known type"
        " (use 'fake', 'tasmota', 'modbus-rtu', 'lcus', 'shelly')",
    ),
    (
        "{id: r, type: fake, channels: 4}",
        "{id: r, type: tasmota}",
        "tasmota",
        "relays[0].topic: required key is missing",
    ),
    (
        "zones: [east]}",
        "zones: 5}",
        "zones: 5",
        "schedule.slots[1].zones: 5 should be 'all' or be a list",
    ),
    (
        "zones: [east]}",
        "zones: [east, 7]}",
        "[east, 7]",
        "schedule.slots[1].zones[1]: 7 should be text",
    ),
    (
        "timezone: Asia/Shanghai",
        "timezone: Mars/Base",
        "Mars",
        "station.timezone: 'Mars/Base' is not a known time zone (e.g. Asia/Shanghai)",
    ),
]


@pytest.mark.parametrize(("old", "new", "needle", "message"), SCHEMA_CASES)
def test_schema_errors_name_file_line_and_key(
    tmp_path: Path, old: str, new: str, needle: str, message: str
) -> None:
    text = edit(old, new)
    assert errors_of(make_station(tmp_path, text)) == [
        f"config.yaml:{line_of(text, needle)}: {message}"
    ]


def test_all_schema_errors_are_collected_in_file_order(tmp_path: Path) -> None:
    text = edit("start: 12:00", "start: '25:00'", edit("  fade_out_s: 3", "  fade_out_s: x"))
    assert errors_of(make_station(tmp_path, text)) == [
        "config.yaml:5: audio.fade_out_s: 'x' is not a duration (use 30m, 90s, 1h30m or seconds)",
        "config.yaml:16: schedule.slots[1].start: '25:00' is not a time of day",
    ]


def test_duplicate_key_in_config(tmp_path: Path) -> None:
    text = edit("  timezone: Asia/Shanghai", "  timezone: Asia/Shanghai\n  name: 另一个站")
    assert errors_of(make_station(tmp_path, text)) == [
        "config.yaml:4: station.name: duplicate key 'name' (already set on line 2)"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "config.yaml:1: the file is empty"),
        (b"- a\n- b\n", "config.yaml:1: the top level must be `key: value` lines"),
        (b"station: {name: x\n", "config.yaml:2: YAML syntax error: expected ',' or '}'"),
        (
            "station: {name: 测试}\n".encode("gbk"),
            "config.yaml:1: 不是 UTF-8 文本（第 17 列，字节 0xB2），请另存为 UTF-8"
            " / not UTF-8 text (byte 0xB2 at column 17); save it as UTF-8",
        ),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    (only,) = errors_of(path)
    assert only.startswith(message)


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = make_station(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert load_config(path).config.station.name == "测试站"


def test_missing_file(tmp_path: Path) -> None:
    assert errors_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: config file not found"]


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    (only,) = errors_of(tmp_path)
    assert only.startswith(f"{tmp_path}: cannot read the config file:")
