"""From composed YAML nodes to plain data within the limits, remembering the line of each key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import BaseConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller.config.yamlguard import MAX_DEPTH, MAX_NUMBER_CHARS, MAX_VALUES, control_in
from drivers.settings.types import short_repr

PathPart = str | int
KeyPath = tuple[PathPart, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# Bytes in a config would reach pydantic's str fields as text, NULs and all.
_BINARY_TAG = "tag:yaml.org,2002:binary"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def format_path(path: Sequence[PathPart]) -> str:
    """`("schedule", "slots", 1, "start")` -> `schedule.slots[1].start`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class Locator:
    """Finds the 1-based line of any key path in one file."""

    file: str
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: Sequence[PathPart]) -> int:
        """Line of `path`; for a path that is not in the file, the line of its nearest parent."""
        key = tuple(path)
        while key not in self.lines and key:
            key = key[:-1]
        return self.lines.get(key, 1)

    def error(self, path: Sequence[PathPart], reason: str, line: int | None = None) -> str:
        """One operator-facing message: `file:line: dotted.path: reason`."""
        head = f"{self.file}:{self.line(path) if line is None else line}"
        return f"{head}: {format_path(path)}: {reason}" if path else f"{head}: {reason}"


class TooMany(Exception):
    """Building stopped: aliases expand past MAX_VALUES; nothing more is worth reporting."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TreeBuilder:
    """Walks the node tree into dicts, lists and scalars, recording each path's line.

    The composed tree is a graph: an alias is the same node again, so a 300-byte file can
    stand for billions of values, or for itself. Every value built is counted against
    MAX_VALUES, depth is capped again (aliases stack levels), and a node already being built,
    or a mapping already being merged, met again is a loop.
    """

    def __init__(self, loader: BaseConstructor, locator: Locator) -> None:
        self.loader = loader
        self.locator = locator
        self.errors: list[str] = []
        self._open: set[int] = set()  # nodes being built: an alias back into one is a loop
        self._merging: list[int] = []  # mappings whose keys are being merged, outermost first
        self._built = 0

    def build(self, node: Node, path: KeyPath) -> Any:
        self.locator.lines.setdefault(path, node.start_mark.line + 1)
        self._count(path)
        if id(node) in self._open:
            self.errors.append(self.locator.error(path, "an alias refers to itself (a loop)"))
            return None
        if len(path) >= MAX_DEPTH and not isinstance(node, ScalarNode):
            reason = f"别名展开后嵌套超过 {MAX_DEPTH} 层 / nested more than {MAX_DEPTH} levels"
            where = _under_key(path)
            self.errors.append(
                self.locator.error(where, f"{reason} deep once aliases are expanded")
            )
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                self._expect_tag(node, _SEQ_TAG, path)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self._open.discard(id(node))

    def _count(self, path: KeyPath) -> None:
        self._built += 1
        if self._built > MAX_VALUES:
            where = _under_key(path)
            reason = f"aliases expand to more than {MAX_VALUES} values (an alias bomb?)"
            raise TooMany(self.locator.error(where, f"别名展开后超过 {MAX_VALUES} 个值 / {reason}"))

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        if node.tag == _BINARY_TAG:
            self.errors.append(self.locator.error(path, f"unsupported YAML tag {node.tag!r}"))
            return None
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            reason = f"数字超过 {MAX_NUMBER_CHARS} 个字符 / a number longer than {MAX_NUMBER_CHARS}"
            self.errors.append(self.locator.error(path, f"{reason} characters"))
            return None
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # e.g. `!!int abc`, `!!bool maybe` (KeyError)
            detail = "" if isinstance(exc, KeyError) else f": {exc}"
            reason = f"cannot read {short_repr(node.value)} as {node.tag.rpartition(':')[2]}"
            self.errors.append(self.locator.error(path, reason + detail))
            return None
        if isinstance(value, str):
            self._no_control(value, path)
        return value

    def _no_control(self, text: str, path: KeyPath) -> None:
        code = control_in(text)
        if code is not None:
            self.errors.append(
                self.locator.error(
                    path,
                    f"含不可用的字符 {code}，请删除 / contains the unusable character {code};"
                    " delete it",
                )
            )

    def _expect_tag(self, node: Node, tag: str, path: KeyPath) -> None:
        if node.tag != tag:
            self.errors.append(self.locator.error(path, f"unsupported YAML tag {node.tag!r}"))

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        self._expect_tag(node, _MAP_TAG, path)
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merged: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_pairs(value_node, path))
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            if key in first_line:
                reason = f"duplicate key {key!r} (already set on line {first_line[key]})"
                self.errors.append(self.locator.error((*path, key), reason, line))
                continue
            first_line[key] = line
            self.locator.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key))
        # `<<: *defaults`: keys written here win over merged ones; earlier merges win over later.
        for key_node, value_node in merged:
            key = self._key(key_node, path)
            if key is not None and key not in result:
                self.locator.lines[(*path, key)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, (*path, key))
        return result

    def _merge_pairs(self, value: Node, path: KeyPath) -> list[tuple[Node, Node]]:
        sources = value.value if isinstance(value, SequenceNode) else [value]
        pairs: list[tuple[Node, Node]] = []
        for source in sources:
            self._count(path)
            if not isinstance(source, MappingNode):
                self.errors.append(self.locator.error(path, "'<<' must merge a mapping"))
                continue
            if id(source) in self._open or id(source) in self._merging:
                reason = "'<<' merges a mapping into itself (a loop)"
                self.errors.append(self.locator.error(path, reason))
                continue
            if len(self._merging) >= MAX_DEPTH:
                reason = f"'<<' 嵌套超过 {MAX_DEPTH} 层 / merges nested more than {MAX_DEPTH} deep"
                self.errors.append(self.locator.error(path, reason))
                continue
            self._merging.append(id(source))
            try:
                for key_node, value_node in source.value:
                    self._count(path)
                    if key_node.tag == _MERGE_TAG:
                        pairs.extend(self._merge_pairs(value_node, path))
                    else:
                        pairs.append((key_node, value_node))
            finally:
                self._merging.pop()
        return pairs

    def _key(self, node: Node, path: KeyPath) -> str | None:
        # Keys are kept as written: `on:` or `1:` name themselves, never True or 1.
        if isinstance(node, ScalarNode):
            key = str(node.value)
            self._no_control(key, path)
            return key
        reason = "a key must be plain text, not a list or mapping"
        self.errors.append(self.locator.error(path, reason, node.start_mark.line + 1))
        return None


def _under_key(path: KeyPath) -> KeyPath:
    """`path` up to its last key: an item reached through an alias has its anchor's line, far
    from where the alias was used, while a key's line is where it is written."""
    keys = [i for i, part in enumerate(path) if isinstance(part, str)]
    return path[: keys[-1] + 1] if keys else ()
