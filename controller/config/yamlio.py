"""Strict YAML reading with line numbers, so that every config error names file, line and key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

PathPart = str | int
KeyPath = tuple[PathPart, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# `H:MM`, `HH:MM`, `HH:MM:SS`: YAML 1.1 would read `12:00` as the base-60 integer 720.
_TIME_OF_DAY = re.compile(r"^[0-9][0-9]?:[0-9][0-9](?::[0-9][0-9])?$")


class YamlError(ValueError):
    """A file that is not well-formed strict YAML; `messages` are `file:line: reason` lines."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader whose plain scalars shaped like a time of day resolve to strings."""


# Copy the inherited table so SafeLoader itself is untouched, then put the time-of-day rule
# first: the resolver takes the first pattern that matches, so it wins over int and float.
_StrictLoader.yaml_implicit_resolvers = {
    first: list(rules) for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _digit in "0123456789":
    _StrictLoader.yaml_implicit_resolvers.setdefault(_digit, []).insert(
        0, ("tag:yaml.org,2002:str", _TIME_OF_DAY)
    )


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


def read_yaml(path: Path) -> tuple[Any, Locator]:
    """Read and parse one YAML file; raises YamlError (also for unreadable files) and OSError."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # Notepad on Windows writes a byte-order mark
    except UnicodeDecodeError as exc:
        raise YamlError(
            [f"{path.name}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"]
        ) from exc
    return parse_yaml(text, path.name)


def read_mapping(path: Path) -> tuple[dict[str, Any], Locator]:
    """Like read_yaml, for files whose top level must be `key: value` lines."""
    data, locator = read_yaml(path)
    if data is None:
        raise YamlError([f"{path.name}:1: the file is empty"])
    if not isinstance(data, dict):
        raise YamlError([f"{path.name}:1: the top level must be `key: value` lines"])
    return data, locator


def parse_yaml(text: str, file: str) -> tuple[Any, Locator]:
    """Parse YAML text named `file` in messages into plain data and its Locator."""
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        builder = _Builder(loader, Locator(file))
        data = builder.build(root, ()) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        raise YamlError([_syntax_message(file, exc)]) from exc
    except yaml.YAMLError as exc:
        raise YamlError([f"{file}: not valid YAML: {exc}"]) from exc
    finally:
        loader.dispose()
    if builder.errors:
        raise YamlError(builder.errors)
    return data, builder.locator


def _syntax_message(file: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{file}:{mark.line + 1}" if mark else file
    detail = f" (column {mark.column + 1})" if mark else ""
    began, problem = exc.context_mark, exc.problem_mark
    if exc.context and began and problem and began.line != problem.line:
        detail = f" (column {problem.column + 1}, {exc.context} on line {began.line + 1})"
    kind = (
        "cannot read value"
        if isinstance(exc, yaml.constructor.ConstructorError)
        else "YAML syntax error"
    )
    return f"{where}: {kind}: {exc.problem or exc.context or 'not valid YAML'}{detail}"


class _Builder:
    """Walks the node tree into dicts, lists and scalars, recording each path's line."""

    def __init__(self, loader: _StrictLoader, locator: Locator) -> None:
        self.loader = loader
        self.locator = locator
        self.errors: list[str] = []
        self._open: set[int] = set()  # nodes being built: an alias back into one is a loop

    def build(self, node: Node, path: KeyPath) -> Any:
        self.locator.lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in self._open:
            self.errors.append(self.locator.error(path, "an alias refers to itself (a loop)"))
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                self._expect_tag(node, _SEQ_TAG, path)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            try:
                return self.loader.construct_object(node, deep=True)
            except (ValueError, TypeError) as exc:  # e.g. `!!int abc`
                self.errors.append(self.locator.error(path, f"cannot read {node.value!r}: {exc}"))
                return None
        finally:
            self._open.discard(id(node))

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
            if not isinstance(source, MappingNode):
                self.errors.append(self.locator.error(path, "'<<' must merge a mapping"))
                continue
            for key_node, value_node in source.value:
                if key_node.tag == _MERGE_TAG:
                    pairs.extend(self._merge_pairs(value_node, path))
                else:
                    pairs.append((key_node, value_node))
        return pairs

    def _key(self, node: Node, path: KeyPath) -> str | None:
        # Keys are kept as written: `on:` or `1:` name themselves, never True or 1.
        if isinstance(node, ScalarNode):
            return str(node.value)
        reason = "a key must be plain text, not a list or mapping"
        self.errors.append(self.locator.error(path, reason, node.start_mark.line + 1))
        return None
