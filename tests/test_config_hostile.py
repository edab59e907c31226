"""Hostile config files: every byte sequence and alias graph ends in `file:line: reason`, fast."""

from __future__ import annotations

import random
import re
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from controller.config import ConfigError, load_config
from controller.config.yamlguard import MAX_BYTES, MAX_VALUES
from controller.config.yamlio import YamlError, parse_yaml
from drivers.settings.types import parse_duration

# Generous: the worst attack measures about 0.3 s and 10 MB here; the old reader took 14 s
# and 1.2 GB for the 9-level alias bomb, or never returned.
# A sanity bound against blow-ups (alias bombs take minutes), not a timing test: generous for a
# busy 2-core machine, where these take 0.2-1.2 s.
TIME_LIMIT_S = 5.0
MEMORY_LIMIT = 100 * 1024 * 1024
LINE_PREFIX = re.compile(r"^config\.yaml:\d+: ")


def bomb(levels: int) -> str:
    """The 'billion laughs': each line a list of nine aliases of the line before."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghij", "bcdefghijk"[: levels - 1], strict=False):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def alias_chain(n: int) -> str:
    """b1 is [b0], b2 is [b1], ...: each alias adds a level the file does not show."""
    return "b0: &b0 [1]\n" + "".join(f"b{i}: &b{i} [*b{i - 1}]\n" for i in range(1, n))


def merge_chain(n: int) -> str:
    return "m0: &m0 {x: 1}\n" + "".join(f"m{i}: &m{i} {{<<: *m{i - 1}}}\n" for i in range(1, n))


def measured(action: Callable[[], object]) -> tuple[float, int]:
    """Seconds `action` takes, then its peak traced memory in bytes (a second, slower run)."""
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        action()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak


def messages_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.messages


def control_message(line: int, column: int, code: str) -> str:
    return (
        f"config.yaml:{line}: 第 {column} 列有不可用的字符 {code}，请删除"
        f" / unusable character {code} at column {column}; delete it"
    )


def utf8_message(line: int, column: int, byte: int) -> str:
    return (
        f"config.yaml:{line}: 不是 UTF-8 文本（第 {column} 列，字节 0x{byte:02X}），请另存为 UTF-8"
        f" / not UTF-8 text (byte 0x{byte:02X} at column {column}); save it as UTF-8"
    )


DEEP = "嵌套超过 64 层 / nested more than 64 levels deep"
ALIAS_DEEP = "别名展开后嵌套超过 64 层 / nested more than 64 levels deep once aliases are expanded"
EXPANDS = (
    f"别名展开后超过 {MAX_VALUES} 个值 / aliases expand to more than {MAX_VALUES} values"
    " (an alias bomb?)"
)
UNUSABLE = "含不可用的字符 {0}，请删除 / contains the unusable character {0}; delete it"

# (id, file content, the first message exactly)
ATTACKS: list[tuple[str, bytes, str]] = [
    ("NUL", b"station:\n  name: a\x00b\n", control_message(2, 10, "U+0000")),
    ("escape char", b"station:\n  name: a\x1b[2Jb\n", control_message(2, 10, "U+001B")),
    ("DEL", b"a: 1\nb: \x7f\n", control_message(2, 4, "U+007F")),
    ("C1 control", "a: x\x9by\n".encode(), control_message(1, 5, "U+009B")),
    ("NEL", "a: x\x85y\n".encode(), control_message(1, 5, "U+0085")),
    ("LINE SEPARATOR", "a: 1\r\nb: 2\u2028\n".encode(), control_message(2, 5, "U+2028")),
    ("noncharacter", "a: \ufffe\n".encode(), control_message(1, 4, "U+FFFE")),
    ("lone CR counts as a line", b"a: 1\rb: \x01\n", control_message(2, 4, "U+0001")),
    ("invalid UTF-8", b"station:\n  name: \xff\xfe\n", utf8_message(2, 9, 0xFF)),
    ("GBK", "a: 1\nb: 测试\n".encode("gbk"), utf8_message(2, 4, 0xB2)),
    ("truncated sequence", "a: 测\n".encode()[:-2] + b"\n", utf8_message(1, 4, 0xE6)),
    ("overlong slash", b"a: \xc0\xaf\n", utf8_message(1, 4, 0xC0)),
    ("encoded surrogate", b"a: \xed\xa0\x80\n", utf8_message(1, 4, 0xED)),
    ("after a Chinese line", "名: 值\nb: ".encode() + b"\x80\n", utf8_message(2, 4, 0x80)),
    (
        "too large",
        b"#" * (MAX_BYTES + 1),
        "config.yaml:1: 文件过大（超过 128 KiB）/ the file is larger than 128 KiB;"
        " a config file is a few KB",
    ),
    (
        "merge loop",
        b"a: &self {<<: *self}\n",
        "config.yaml:1: a: '<<' merges a mapping into itself (a loop)",
    ),
    (
        "merge loop in a list",
        b"a: &x {b: 1}\nc: &y {<<: [*x], d: {<<: *y}}\n",
        "config.yaml:2: c.d: '<<' merges a mapping into itself (a loop)",
    ),
    ("alias loop", b"a: &x {b: *x}\n", "config.yaml:1: a.b: an alias refers to itself (a loop)"),
    ("3000 [", b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n", f"config.yaml:1: {DEEP}"),
    ("3000 {a:", b"a: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n", f"config.yaml:1: {DEEP}"),
    (
        "100 indented levels",
        "".join(" " * i + "a:\n" for i in range(100)).encode(),
        f"config.yaml:64: {DEEP}",
    ),
    ("billion laughs", bomb(9).encode(), f"config.yaml:5: e: {EXPANDS}"),
    ("alias levels", alias_chain(70).encode(), f"config.yaml:64: b63: {ALIAS_DEEP}"),
    (
        "merge levels",
        merge_chain(70).encode(),
        "config.yaml:66: m65: '<<' 嵌套超过 64 层 / merges nested more than 64 deep",
    ),
    (
        "too many values",
        b"a: [" + b"1," * (MAX_VALUES + 1) + b"]\n",
        f"config.yaml:1: 值超过 {MAX_VALUES} 个 / more than {MAX_VALUES} values in one file",
    ),
    (
        "base-60 digits",
        b"a: 1" + b":1" * 20000 + b"\n",
        "config.yaml:1: a: 数字超过 64 个字符 / a number longer than 64 characters",
    ),
    ("!!bool maybe", b"a: !!bool maybe\n", "config.yaml:1: a: cannot read 'maybe' as bool"),
    (
        "!!binary",
        b"a: !!binary AAAA\n",
        "config.yaml:1: a: unsupported YAML tag 'tag:yaml.org,2002:binary'",
    ),
    (
        "escaped NUL",
        b'station: {name: "a\\0b"}\n',
        "config.yaml:1: station.name: " + UNUSABLE.format("U+0000"),
    ),
    ("escaped surrogate", b'a: "\\ud800"\n', "config.yaml:1: a: " + UNUSABLE.format("U+D800")),
    ("escaped key", b'"k\\e": 1\n', "config.yaml:1: " + UNUSABLE.format("U+001B")),
]


@pytest.mark.parametrize(
    ("content", "expected"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_each_attack_is_one_line_numbered_error_in_time(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    assert messages_of(path)[0] == expected
    seconds, peak = measured(lambda: messages_of(path))
    assert seconds < TIME_LIMIT_S
    assert peak < MEMORY_LIMIT


def test_a_device_that_never_ends_is_refused_after_the_cap() -> None:
    seconds, _ = measured(lambda: messages_of(Path("/dev/zero")))
    assert messages_of(Path("/dev/zero"))[0].startswith("zero:1: 文件过大（超过 128 KiB）")
    assert seconds < TIME_LIMIT_S


def test_text_handed_to_the_parser_is_checked_too() -> None:
    with pytest.raises(YamlError) as caught:
        parse_yaml("a: 1\nb: \x00\x01\n", "t.yaml")
    assert [m.split(": 第 ")[0] for m in caught.value.messages] == ["t.yaml:2", "t.yaml:2"]


def test_ordinary_aliases_and_merges_still_work() -> None:
    # Aliases to scalars, a shared mapping merged into many: what a station really writes.
    text = "x: &x 5\nbase: &b {gap_s: 2}\n" + "".join(
        f"p{i}: {{<<: *b, n: *x}}\n" for i in range(500)
    )
    data, at = parse_yaml(text, "t.yaml")
    assert data["p499"] == {"gap_s": 2, "n": 5}
    assert at.line(("p499", "n")) == 502


def mutations(seed: int, base: bytes, count: int) -> list[bytes]:
    """`count` copies of `base`, each with a few random edits drawn from YAML's sharp edges."""
    pieces = [
        b"[", b"]", b"{", b"}", b"&a ", b"*a", b"<<: ", b"!!int ", b"!!float ", b"!!bool ",
        b"!!binary ", b"!!timestamp ", b": ", b"- ", b"\n", b"  ", b"\t", b"'", b'"', b"\\",
        b'"\\0"', b"#", b"? ", b"|", b">", b"---\n", b"1e999", b".nan", b".inf", b"-.inf",
        b"0x" + b"f" * 70, b"1:2:3:4:5", b"9" * 500, b"\x00", b"\xff", b"\xc3", b"~",
        b"2027-13-45", b"-1", b"1.0e+400", b"!!python/object:x ", b"!!set ", b"!foo ",
        b"/dev/null/x", b"9999-12-31",
    ]  # fmt: skip
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = bytearray(base)
        for _ in range(rng.randint(1, 5)):
            at = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.6:
                data[at:at] = rng.choice(pieces)
            elif roll < 0.8:
                del data[at : at + rng.randint(1, 20)]
            else:
                data[at] = rng.randrange(256)
        out.append(bytes(data))
    return out


SHIPPED = (Path(__file__).parent.parent / "config.yaml").read_bytes()


@pytest.mark.parametrize("seed", range(4))
def test_mutated_shipped_configs_fail_cleanly(tmp_path: Path, seed: int) -> None:
    (tmp_path / "playlists").mkdir()
    (tmp_path / "audio").mkdir()
    path = tmp_path / "config.yaml"
    for content in mutations(seed, SHIPPED, 100):
        path.write_bytes(content)
        start = time.perf_counter()
        try:
            load_config(path)
        except ConfigError as exc:
            assert all(LINE_PREFIX.match(m) for m in exc.messages), exc.messages
        assert time.perf_counter() - start < TIME_LIMIT_S


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


# --- values the schema and the cross-checks must refuse -----------------------------------

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


LARGEST = {
    "one long value": "a: " + "x" * (MAX_BYTES - 10),
    "a comment": "#" * (MAX_BYTES - 10) + "\na: 1\n",
    "short list items": "a:\n" + "- a\n" * ((MAX_BYTES - 10) // 4),
    "keys": "".join(f"k{i}: {i}\n" for i in range(MAX_BYTES // 12)),
    "anchors and aliases": "".join(f"k{i}: [&x{i} {i}, *x{i - 1}]\n" for i in range(1, 4500)),
    "timestamps": "a: [" + "2027-06-07T08:00:00+08:00," * (MAX_BYTES // 27) + "]\n",
}


@pytest.mark.parametrize("text", LARGEST.values(), ids=LARGEST)
def test_the_largest_files_allowed_are_still_quick(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("x: &x0 1\n" + text if "*x" in text else text, encoding="utf-8")
    assert len(path.read_bytes()) <= MAX_BYTES
    found: list[list[str]] = []
    seconds, peak = measured(lambda: found.append(messages_of(path)))
    assert all(LINE_PREFIX.match(m) for m in found[0])
    assert seconds < TIME_LIMIT_S
    assert peak < MEMORY_LIMIT
