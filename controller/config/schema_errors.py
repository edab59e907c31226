"""Pydantic's validation errors as `file:line: key.path: reason` messages, in file order."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from controller.config.yamlio import KeyPath, Locator, PathPart
from drivers.settings.types import short_repr

# pydantic's bound errors: the ctx key holding the bound, then how each language says it.
_BOUNDS = {
    "greater_than_equal": ("ge", "太小，至少", "is too small: at least"),
    "greater_than": ("gt", "太小，须大于", "is too small: it must be more than"),
    "less_than_equal": ("le", "太大，至多", "is too large: at most"),
    "less_than": ("lt", "太大，须小于", "is too large: it must be less than"),
}


def schema_messages(exc: ValidationError, data: Any, locator: Locator) -> list[str]:
    """Each pydantic error as `file:line: dotted.path: reason`, in file order."""
    located = [(*_data_path(err, data), err) for err in exc.errors()]
    # A union such as `zones: all | [ids]` reports one error per member; when one member got
    # deeper into the value, its error is the useful one and the shallow ones are noise.
    deep = {base for path, base, _ in located if base is not None and len(path) > len(base)}
    reasons: dict[KeyPath, list[str]] = {}
    for path, base, err in located:
        if not (base in deep and path == base):
            reasons.setdefault(path, []).append(_reason(err, path))
    messages = [(locator.line(p), locator.error(p, _join(t))) for p, t in reasons.items()]
    return [text for _, text in sorted(messages, key=lambda item: item[0])]


def _data_path(err: ErrorDetails, data: Any) -> tuple[KeyPath, KeyPath | None]:
    """pydantic's loc as a path into the data, without union member labels (and where they were)."""
    path: list[PathPart] = []
    union_at: KeyPath | None = None
    node: Any = data
    for i, part in enumerate(err["loc"]):
        inside = isinstance(node, dict) and part in node
        inside |= isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if inside:
            path.append(part)
            node = node[part]
        elif i == len(err["loc"]) - 1 and err["type"] in ("missing", "extra_forbidden"):
            path.append(part)
        elif union_at is None:
            union_at = tuple(path)  # e.g. "list[str]" or a relay's "tasmota" tag
    if err["type"] in ("union_tag_invalid", "union_tag_not_found") and isinstance(node, dict):
        path.append(str(err.get("ctx", {}).get("discriminator", "type")).strip("'"))
    return tuple(path), union_at


def _reason(err: ErrorDetails, path: KeyPath) -> str:
    kind, msg, ctx = err["type"], err["msg"], err.get("ctx", {})
    if kind == "missing" or (kind == "union_tag_not_found" and isinstance(err["input"], dict)):
        return "required key is missing"
    if kind == "extra_forbidden":
        return f"unknown key {path[-1]!r} (not allowed here)"
    if kind == "union_tag_invalid":
        return f"{ctx.get('tag')!r} is not a known type (use {ctx.get('expected_tags')})"
    if kind in _BOUNDS:
        bound, zh, en = _BOUNDS[kind]
        value, limit = _number(err["input"]), _number(ctx.get(bound))
        if _is_seconds(path):
            return f"{value} 秒{zh} {limit} 秒 / {value} s {en} {limit} s"
        return f"{value} {zh} {limit} / {value} {en} {limit}"
    if kind == "finite_number":
        return f"{_show(err['input'])} 不是有限数值 / {_show(err['input'])} is not a finite number"
    if kind in ("value_error", "assertion_error"):
        return msg.split(", ", 1)[1] if msg.startswith(("Value error, ", "Assertion")) else msg
    if not msg.startswith("Input should "):
        return msg
    wanted = msg.removeprefix("Input should ")
    if kind.endswith("_parsing"):
        wanted = wanted.split(",")[0]  # "be a valid integer, unable to parse string as ..."
    wanted = re.sub(r"a valid dictionary.*", "`key: value` lines", wanted)
    wanted = wanted.replace("a valid string", "text").replace("a valid list", "a list")
    return f"{_show(err['input'])} should {wanted}"


def _show(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, str | int | float | list | dict):
        return short_repr(value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> str:
    """`7200`, `1e+12`, `0.1`: a bound or an offending number as an operator would write it."""
    if isinstance(value, float):
        return f"{value:g}"
    return _show(value) if not isinstance(value, int) or value.bit_length() > 64 else str(value)


def _is_seconds(path: KeyPath) -> bool:
    return bool(path) and (str(path[-1]).endswith("_s") or path[-1] == "duration")


def _join(reasons: list[str]) -> str:
    """Errors from the members of one union: `5 should be 'all' or be a valid list`."""
    head, sep, _ = reasons[0].partition(" should ")
    if len(reasons) > 1 and sep and all(r.startswith(head + sep) for r in reasons):
        return head + sep + " or ".join(r.removeprefix(head + sep) for r in reasons)
    return "; ".join(dict.fromkeys(reasons))
