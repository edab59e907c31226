"""Limits a YAML file keeps to before and while it is read: size, characters, nesting, values."""

from __future__ import annotations

import re

import yaml
from yaml.error import Mark

# A station's config.yaml is a few KB, a playlist of 1,000 clips 40 KB. PyYAML is pure Python
# here (~2 µs a byte for a sea of short tokens), so the cap is what keeps any file well < 1 s.
MAX_BYTES = 128 * 1024
# Levels of nesting, the document's top level being 1; the config itself needs about 5.
MAX_DEPTH = 64
# Values (scalars, lists, mappings) one file may hold, each alias counting as often as it is
# used: a legitimate file has hundreds, an alias bomb billions. Each costs ~20 µs to compose.
MAX_VALUES = 20_000
# Characters in one number: enough for any value a config holds, and int() of a long `1:2:3:…`
# (YAML 1.1 base 60) is quadratic: 128 KiB of it takes seconds.
MAX_NUMBER_CHARS = 64

# What PyYAML's reader accepts, less NEL, LINE and PARAGRAPH SEPARATOR: YAML counts those as
# line breaks but editors do not, so every line number after one would be wrong.
_BAD_CHAR = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
# Inside a value, as decoded from an escape such as "\0", "\e" or "\ud800": C0 and C1 controls,
# DEL, and lone surrogates (no UTF-8 for them: printing the error would fail).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_BREAK = re.compile("\r\n|\r|\n")


class LimitError(yaml.MarkedYAMLError):
    """The file goes past one of the limits; `problem` is the whole operator-facing reason."""


def decode(raw: bytes, file: str) -> tuple[str | None, str | None]:
    """The text of a file's bytes, or a `file:line: reason` message saying why there is none."""
    if len(raw) > MAX_BYTES:
        kib = MAX_BYTES // 1024
        return None, (
            f"{file}:1: 文件过大（超过 {kib} KiB）/ the file is larger than {kib} KiB;"
            " a config file is a few KB"
        )
    try:
        return raw.decode("utf-8-sig"), None  # Notepad on Windows writes a byte-order mark
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8", "replace")) + 1
        byte = raw[exc.start]
        return None, (
            f"{file}:{line}: 不是 UTF-8 文本（第 {column} 列，字节 0x{byte:02X}），请另存为 UTF-8"
            f" / not UTF-8 text (byte 0x{byte:02X} at column {column}); save it as UTF-8"
        )


def character_errors(text: str, file: str, most: int = 5) -> list[str]:
    """A message for each of the first `most` characters YAML or an editor would trip on."""
    errors = []
    for found in _BAD_CHAR.finditer(text):
        line, column = line_and_column(text, found.start())
        code = f"U+{ord(found.group()):04X}"
        errors.append(
            f"{file}:{line}: 第 {column} 列有不可用的字符 {code}，请删除"
            f" / unusable character {code} at column {column}; delete it"
        )
        if len(errors) == most:
            break
    return errors


def line_and_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of `text[index]`, counting line breaks the way PyYAML does."""
    line, start = 1, 0
    for brk in _BREAK.finditer(text, 0, index):
        line, start = line + 1, brk.end()
    return line, index - start + 1


def control_in(value: str) -> str | None:
    """`U+001B` for the first control character or lone surrogate in a value, or None."""
    found = _CONTROL.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


class GuardedComposer(yaml.composer.Composer):
    """Mixed into a PyYAML loader before its Composer: nodes are composed at most MAX_DEPTH
    deep (PyYAML recurses once per level, so 3,000 `[` would be a RecursionError) and at most
    MAX_VALUES in all, so neither the stack nor the work depends on what the file claims."""

    _depth = 0
    _composed = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        mark = self.peek_event().start_mark  # type: ignore[attr-defined]
        self._depth += 1
        self._composed += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _limit(
                    f"嵌套超过 {MAX_DEPTH} 层 / nested more than {MAX_DEPTH} levels deep", mark
                )
            if self._composed > MAX_VALUES:
                raise _limit(
                    f"值超过 {MAX_VALUES} 个 / more than {MAX_VALUES} values in one file", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _limit(reason: str, mark: Mark) -> LimitError:
    return LimitError(problem=reason, problem_mark=mark)
