"""Hostile config values: each number, duration and date outside its bounds is refused with
its file, line and key, in Chinese and then English; no float field takes NaN, infinity, a
negative or a huge value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hostile_config import STATION, line_of, messages_of, set_value, station

from controller.config import load_config
from drivers.settings.types import parse_duration


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "nan 不是有限的时长 / nan is not a finite duration"),
        (float("inf"), "inf 不是有限的时长 / inf is not a finite duration"),
        (10**400, "a 401-digit number 不是有限的时长"),
        ("9" * 400, "is not a duration"),
        ("1" * 30 + "h", "秒超过一周"),
        (-0.5, "-0.5 为负数 / -0.5 is negative"),
        (8 * 86_400, "691200 秒超过一周 / 691200 s is more than a week"),
        (True, "True is not a duration"),
    ],
)
def test_durations_refuse_what_no_clock_can_wait(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_duration(value)


def test_the_hostile_suites_station_is_valid(tmp_path: Path) -> None:
    assert load_config(station(tmp_path, STATION)).config.schedule.rearm_s == 30


def too_large(value: str, limit: str, unit: str = " s") -> str:
    zh = " 秒" if unit else ""
    english = f"{value}{unit} is too large: at most {limit}{unit}"
    return f"{value}{zh or ' '}太大，至多 {limit}{zh} / {english}"


def too_small(value: str, limit: str, unit: str = " s") -> str:
    zh = " 秒" if unit else ""
    english = f"{value}{unit} is too small: at least {limit}{unit}"
    return f"{value}{zh or ' '}太小，至少 {limit}{zh} / {english}"


def over_a_week(value: str) -> str:
    return f"{value} 秒超过一周 / {value} s is more than a week; no duration is that long"


def not_a_duration(value: str) -> str:
    return f"{value!r} is not a duration (use 30m, 90s, 1h30m or seconds)"


def out_of_years(day: str) -> str:
    return f"{day} 不在 2000–2199 年之间 / {day} is not within 2000–2199"


RATES = "8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 192000"
SLOT = "schedule.slots[0].duration"

# (key, written value, dotted path, the message after "config.yaml:<line>: <path>: ")
BAD_VALUES: list[tuple[str, str, str, str]] = [
    ("preroll_s", "121", "schedule.preroll_s", too_large("121", "120")),
    ("preroll_s", "1.0e+12", "schedule.preroll_s", over_a_week("1e+12")),
    ("preroll_s", "1e12", "schedule.preroll_s", not_a_duration("1e12")),  # YAML 1.1: text
    ("postroll_s", "1.0e+12", "schedule.postroll_s", over_a_week("1e+12")),
    ("postroll_s", "601", "schedule.postroll_s", too_large("601", "600")),
    (
        "sample_rate",
        "0",
        "audio.sample_rate",
        f"0 Hz 不是可用的采样率 / 0 Hz is not a sample rate ({RATES})",
    ),
    ("rearm_s", "0", "schedule.rearm_s", too_small("0", "0.1")),
    ("settle_s", "1.0e+9", "amplifiers[0].settle_s", over_a_week("1e+09")),
    ("settle_s", "121", "amplifiers[0].settle_s", too_large("121", "120")),
    ("deadman_margin_s", "0", "schedule.deadman_margin_s", too_small("0", "1")),
    ("min_join_s", "2d", "schedule.min_join_s", not_a_duration("2d")),
    ("duration", "0", SLOT, "0 秒太小，须大于 0 秒 / 0 s is too small: it must be more than 0 s"),
    (
        "duration",
        "24h",
        SLOT,
        "86400 秒太大，须小于 86400 秒 / 86400 s is too large: it must be less than 86400 s",
    ),
    ("dwell_s", "0", "led.dwell_s", too_small("0", "1")),
    ("fade_out_s", "61", "audio.fade_out_s", too_large("61", "60")),
    ("gap_s", "-1", "audio.gap_s", "-1 为负数 / -1 is negative; a duration must be zero or more"),
    ("keep_days", "0", "audio.output.keep_days", too_small("0", "1", "")),
    ("keep_days", "1000000", "audio.output.keep_days", too_large("1000000", "3660", "")),
    ("min_s", "0", "media.min_s", too_small("0", "0.1")),
    ("max_upload_mb", "0", "media.max_upload_mb", too_small("0", "0.01", "")),
    ("target_lufs", ".nan", "media.target_lufs", "nan 不是有限数值 / nan is not a finite number"),
    (
        "reconnect_max_s",
        ".inf",
        "mqtt.reconnect_max_s",
        "inf 不是有限数值 / inf is not a finite number",
    ),
    ("reconnect_max_s", "0", "mqtt.reconnect_max_s", too_small("0", "1")),
    ("confirm_delay_s", "61", "relays[0].confirm_delay_s", too_large("61", "60")),
    ("start: 2027", "1999-12-31T00:00", "blackouts[0].start", out_of_years("1999-12-31")),
    ("end: 2027", "9999-12-31T23:59", "blackouts[0].end", out_of_years("9999-12-31")),
    (
        "timezone",
        "A" * 300,
        "station.timezone",
        f"'{'A' * 56}... is not a known time zone (e.g. Asia/Shanghai)",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "dotted", "message"),
    BAD_VALUES,
    ids=[f"{k}={v[:12]}" for k, v, *_ in BAD_VALUES],
)
def test_each_bad_value_is_named_with_its_line(
    tmp_path: Path, key: str, value: str, dotted: str, message: str
) -> None:
    text = STATION.replace("station:\n", "station:\n  timezone: Asia/Shanghai\n")
    text = set_value(key, value, text)
    line = line_of(text, f"{key.partition(':')[0]}: {value}")
    assert messages_of(station(tmp_path, text)) == [f"config.yaml:{line}: {dotted}: {message}"]


FLOAT_FIELDS = [
    ("reconnect_max_s", "mqtt.reconnect_max_s"),
    ("fade_out_s", "audio.fade_out_s"),
    ("gap_s", "audio.gap_s"),
    ("confirm_delay_s", "relays[0].confirm_delay_s"),
    ("settle_s", "amplifiers[0].settle_s"),
    ("preroll_s", "schedule.preroll_s"),
    ("postroll_s", "schedule.postroll_s"),
    ("min_join_s", "schedule.min_join_s"),
    ("deadman_margin_s", "schedule.deadman_margin_s"),
    ("rearm_s", "schedule.rearm_s"),
    ("duration", "schedule.slots[0].duration"),
    ("dwell_s", "led.dwell_s"),
    ("target_lufs", "media.target_lufs"),
    ("true_peak_db", "media.true_peak_db"),
    ("min_s", "media.min_s"),
    ("max_s", "media.max_s"),
    ("max_upload_mb", "media.max_upload_mb"),
]


@pytest.mark.parametrize(
    "value", [".nan", ".inf", "-.inf", "-1000", "1.0e+999", "1e999", "1.0e+12"]
)
@pytest.mark.parametrize(("key", "dotted"), FLOAT_FIELDS, ids=[k for k, _ in FLOAT_FIELDS])
def test_no_float_field_takes_nan_inf_negative_or_huge(
    tmp_path: Path, key: str, dotted: str, value: str
) -> None:
    text = set_value(key, value)
    (message,) = messages_of(station(tmp_path, text))
    assert message.startswith(f"config.yaml:{line_of(text, f'{key}: {value}')}: {dotted}: ")
    assert "\n" not in message
    if value not in ("1e999", "1.0e+12"):  # '1e999' is text to YAML 1.1; 1e12 fits some fields
        assert " / " in message  # Chinese, then English
