"""Config cross-checks: names, zones, relays and blackouts that must agree, slots that may not
overlap; and check_main, which lists what is wrong and counts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_cases import edit, errors_of, line_of, make_station

from controller.config import load_config
from controller.config.load import check_main

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
