"""Config loading: strict YAML, line-numbered schema errors, cross-checks, paths, check_main."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from controller.config import Config, ConfigError, LoadedConfig, Playlist, load_config
from controller.config.load import check_main
from controller.config.yamlio import YamlError, parse_yaml

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


# --- cross-checks ----------------------------------------------------------------------------

CROSS_CASES: list[tuple[str, str, str, str]] = [
    # (old, new, needle for the line, expected message after "config.yaml:<line>: ")
    (
        "playlist: anti-fraud, zones: [east]",
        "playlist: news, zones: [east]",
        "news",
        "schedule.slots[1].playlist: playlist 'news' not found"
        " (no file {root}/playlists/news.yaml)",
    ),
    (
        "zones: [east]}",
        "zones: [north]}",
        "north",
        "schedule.slots[1].zones[0]: zone 'north' is not defined under zones",
    ),
    (
        "zones: [east]}",
        "zones: []}",
        "zones: []",
        "schedule.slots[1].zones: a slot needs zones: all or zone ids",
    ),
    (
        "T00:00, zones: all}",
        "T00:00, zones: [east, south]}",
        "south",
        "blackouts[0].zones[1]: zone 'south' is not defined under zones",
    ),
    (
        'relays: ["r:2"]',
        'relays: ["q:2"]',
        "q:2",
        "zones[1].relays[0]: relay 'q' is not defined under relays",
    ),
    (
        'relays: ["r:2"]',
        'relays: ["r:5"]',
        "r:5",
        "zones[1].relays[0]: relay 'r' has channels 1..4, not 5",
    ),
    (
        'relays: ["r:2"]',
        'relays: ["r2"]',
        '"r2"',
        """zones[1].relays[0]: 'r2' is not "device:channel" (e.g. "east:1")""",
    ),
    (
        '{relay: "r:4"',
        '{relay: "r:0"',
        "r:0",
        "amplifiers[0].relay: relay 'r' has channels 1..4, not 0",
    ),
    (
        "  - {id: r, type: fake, channels: 4}",
        "  - {id: r, type: fake, channels: 4}\n  - {id: r, type: fake}",
        "{id: r, type: fake}",
        "relays[1].id: relay id 'r' is already used by relays[0]",
    ),
    (
        "{id: west,",
        "{id: east,",
        '"r:2"',
        "zones[1].id: zone id 'east' is already used by zones[0]",
    ),
    (
        "{id: west,",
        "{id: all,",
        "all, name",
        "zones[1].id: 'all' is reserved (zones: all means every zone); choose another id",
    ),
    (
        "{name: 午间,",
        "{name: 早间,",
        "12:00",
        "schedule.slots[1].name: slot name '早间' is already used by slots[0]",
    ),
    (
        "end: 2027-06-11T00:00",
        "end: 2027-06-06T00:00",
        "高考",
        "blackouts[0].end: ends at 2027-06-06 00:00, not after its start 2027-06-07 00:00",
    ),
    (
        "start: 12:00, duration: 30m",
        "start: 12:00, duration: 3s",
        "3s",
        "schedule.slots[1].duration: 3s is too short: it must be longer than audio.fade_out_s (3s)",
    ),
    (
        "start: 12:00, duration: 30m",
        "start: 07:20, duration: 30m",
        "07:20",
        "schedule.slots[1].start:"
        " slot '午间' (07:20–07:50) overlaps slot '早间' (07:00–07:30);"
        " the station has one audio output",
    ),
    # Moving 早间 to 23:50 for 30m runs it into 午间, moved to 00:10: midnight is no wall.
    (
        "start: 07:00, duration: 30m, playlist: anti-fraud, zones: all}\n"
        "    - {name: 午间, start: 12:00",
        "start: 23:50, duration: 30m, playlist: anti-fraud, zones: all}\n"
        "    - {name: 午间, start: 00:10",
        "00:10",
        "schedule.slots[1].start:"
        " slot '午间' (00:10–00:40) overlaps slot '早间' (23:50–00:20);"
        " the station has one audio output",
    ),
]


@pytest.mark.parametrize(("old", "new", "needle", "message"), CROSS_CASES)
def test_each_cross_check(tmp_path: Path, old: str, new: str, needle: str, message: str) -> None:
    text = edit(old, new)
    expected = f"config.yaml:{line_of(text, needle)}: {message.format(root=tmp_path)}"
    assert errors_of(make_station(tmp_path, text)) == [expected]


@pytest.mark.parametrize(
    ("first_days", "second_days", "overlaps"),
    [
        ("daily", "[tue]", True),  # Monday 23:50 runs into Tuesday 00:10
        ("[mon]", "[tue]", True),
        ("[tue]", "[tue]", False),  # Tuesday 23:50 is after Tuesday 00:10-00:40
        ("[sun]", "[mon]", True),  # across the week's end
        ("[mon]", "[wed]", False),
    ],
)
def test_overlaps_across_midnight_follow_weekday_masks(
    tmp_path: Path, first_days: str, second_days: str, overlaps: bool
) -> None:
    text = edit(
        "start: 07:00, duration: 30m, playlist: anti-fraud, zones: all}",
        f"start: 23:50, duration: 30m, playlist: anti-fraud, zones: all, days: {first_days}}}",
    )
    text = edit(
        "start: 12:00, duration: 30m, playlist: anti-fraud, zones: [east]}",
        f"start: 00:10, duration: 30m, playlist: anti-fraud, zones: [east], days: {second_days}}}",
        text,
    )
    path = make_station(tmp_path, text)
    if overlaps:
        (only,) = errors_of(path)
        assert "schedule.slots[1].start: slot '午间' (00:10–00:40) overlaps slot '早间'" in only
    else:
        assert len(load_config(path).config.schedule.slots) == 2


def test_slots_on_different_zones_still_may_not_overlap(tmp_path: Path) -> None:
    # One audio output: two slots at once cannot both be played, whatever their zones.
    text = edit("anti-fraud, zones: all}", "anti-fraud, zones: [west]}")
    text = edit("start: 12:00", "start: 07:10", text)
    (message,) = errors_of(make_station(tmp_path, text))
    assert message.endswith("overlaps slot '早间' (07:00–07:30); the station has one audio output")


def test_cross_check_errors_are_collected_together(tmp_path: Path) -> None:
    text = edit(
        'relays: ["r:2"]',
        'relays: ["r:9"]',
        edit("playlist: anti-fraud, zones: [east]", "playlist: news, zones: [east]"),
    )
    messages = errors_of(make_station(tmp_path, text))
    assert [m.split(":")[1] for m in messages] == ["10", "16"]  # in file order


# --- paths and time zones --------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_folder_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    station = tmp_path / "station"
    text = BASE.replace(
        "  timezone: Asia/Shanghai\n", "  timezone: Asia/Shanghai\n  data_dir: state\n"
    )
    text = text.replace(
        "  fade_out_s: 3\n", "  fade_out_s: 3\n  output: {type: file, dir: aircheck}\n"
    )
    make_station(station, text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_config(Path("../station/config.yaml"))
    assert loaded.path == station / "config.yaml"
    assert loaded.root == station
    assert loaded.config.station.data_dir == station / "state"
    assert loaded.config.station.media_dir == station / "audio"
    assert loaded.config.station.playlists_dir == station / "playlists"
    assert loaded.config.audio.output.dir == station / "aircheck"
    assert loaded.playlists["anti-fraud"].clips == (station / "audio" / "a.mp3",)
    assert loaded.resolve(Path("var/x.db")) == station / "var" / "x.db"
    assert loaded.resolve(Path("/srv/audio")) == Path("/srv/audio")


def test_absolute_paths_stay(tmp_path: Path) -> None:
    media = tmp_path / "library"
    (media).mkdir()
    (media / "a.mp3").write_bytes(b"ID3")
    text = edit("  timezone: Asia/Shanghai", f"  timezone: Asia/Shanghai\n  media_dir: {media}")
    loaded = load_config(make_station(tmp_path / "station", text))
    assert loaded.config.station.media_dir == media
    assert loaded.playlists["anti-fraud"].clips == (media / "a.mp3",)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2027-06-07T00:00", datetime(2027, 6, 7, tzinfo=SH)),
        ("2027-06-07", datetime(2027, 6, 7, tzinfo=SH)),
        ("2027-06-07 08:30:00", datetime(2027, 6, 7, 8, 30, tzinfo=SH)),
        ("2027-06-06T16:00:00+00:00", datetime(2027, 6, 6, 16, tzinfo=UTC)),  # offset kept
    ],
)
def test_naive_blackout_times_are_station_time(
    tmp_path: Path, written: str, expected: datetime
) -> None:
    text = edit("start: 2027-06-07T00:00", f"start: {written}")
    start = load_config(make_station(tmp_path, text)).config.blackouts[0].start
    assert start.utcoffset() is not None
    assert start == expected
    assert start.utcoffset() == expected.utcoffset()


# --- check_main -------------------------------------------------------------------------------


def test_check_main_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_station(tmp_path)
    assert check_main(path) == 0
    out, err = capsys.readouterr()
    assert out == f"配置有效 / config OK: {path}\n"
    assert err == ""


def test_check_main_lists_errors_and_counts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = edit("start: 12:00", "start: '25:00'", edit("  fade_out_s: 3", "  fade_out_s: x"))
    assert check_main(make_station(tmp_path, text)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith("config.yaml:5: audio.fade_out_s:")
    assert lines[1] == "config.yaml:16: schedule.slots[1].start: '25:00' is not a time of day"
    assert lines[2:] == ["配置有误，共 2 处 / 2 error(s) in config"]


def test_check_main_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_main(tmp_path / "config.yaml") == 1
    assert "config file not found" in capsys.readouterr().err
