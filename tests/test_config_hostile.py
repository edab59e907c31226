"""Hostile config files: every byte sequence and alias graph ends in `file:line: reason`, fast."""

from __future__ import annotations

import random
import re
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_config import messages_of

from controller.config import ConfigError, load_config
from controller.config.yamlguard import MAX_BYTES, MAX_VALUES
from controller.config.yamlio import YamlError, parse_yaml

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
    found: list[list[str]] = []
    seconds, peak = measured(lambda: found.append(messages_of(path)))
    assert found[0][0] == expected  # the timed run's answer (one run fewer: the suite's time)
    assert seconds < TIME_LIMIT_S
    assert peak < MEMORY_LIMIT


def test_a_device_that_never_ends_is_refused_after_the_cap() -> None:
    found: list[list[str]] = []
    seconds, _ = measured(lambda: found.append(messages_of(Path("/dev/zero"))))
    assert found[0][0].startswith("zero:1: 文件过大（超过 128 KiB）")
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
