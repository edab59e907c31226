"""Strict YAML reading with line numbers, so that every config error names file, line and key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from controller.config.yamlguard import (
    MAX_BYTES,
    GuardedComposer,
    LimitError,
    character_errors,
    decode,
)
from controller.config.yamltree import KeyPath, Locator, PathPart, TooMany, TreeBuilder

__all__ = ["KeyPath", "Locator", "PathPart", "YamlError", "parse_yaml", "read_mapping"]

# `H:MM`, `HH:MM`, `HH:MM:SS`: YAML 1.1 would read `12:00` as the base-60 integer 720.
_TIME_OF_DAY = re.compile(r"^[0-9][0-9]?:[0-9][0-9](?::[0-9][0-9])?$")


class YamlError(ValueError):
    """A file that is not well-formed strict YAML; `messages` are `file:line: reason` lines."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


class _StrictLoader(GuardedComposer, yaml.SafeLoader):
    """SafeLoader whose plain scalars shaped like a time of day resolve to strings, composing
    within the nesting and size limits."""


# Copy the inherited table so SafeLoader itself is untouched, then put the time-of-day rule
# first: the resolver takes the first pattern that matches, so it wins over int and float.
_StrictLoader.yaml_implicit_resolvers = {
    first: list(rules) for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _digit in "0123456789":
    _StrictLoader.yaml_implicit_resolvers.setdefault(_digit, []).insert(
        0, ("tag:yaml.org,2002:str", _TIME_OF_DAY)
    )


def read_yaml(path: Path) -> tuple[Any, Locator]:
    """Read and parse one YAML file; raises YamlError (also for unreadable files) and OSError."""
    with path.open("rb") as stream:
        raw = stream.read(MAX_BYTES + 1)  # one byte over is enough to refuse, even /dev/zero
    text, problem = decode(raw, path.name)
    if text is None:
        raise YamlError([str(problem)])
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
    bad = character_errors(text, file)
    if bad:  # PyYAML would stop at the first with an error naming no line
        raise YamlError(bad)
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        builder = TreeBuilder(loader, Locator(file))
        data = builder.build(root, ()) if root is not None else None
    except TooMany as exc:
        raise YamlError([exc.message]) from None
    except yaml.MarkedYAMLError as exc:
        raise YamlError([_syntax_message(file, exc)]) from exc
    except yaml.YAMLError as exc:
        raise YamlError([f"{file}:1: not valid YAML: {exc}"]) from exc
    finally:
        loader.dispose()
    if builder.errors:
        raise YamlError(builder.errors)
    return data, builder.locator


def _syntax_message(file: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{file}:{mark.line + 1 if mark else 1}"
    if isinstance(exc, LimitError):
        return f"{where}: {exc.problem}"
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
