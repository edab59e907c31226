"""The slogan file for the LED screens, each slogan checked against its screens' character set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from controller.config.schema_errors import schema_messages
from controller.config.yamlio import YamlError, read_mapping
from drivers.settings.devices import DisplayConfig, OnbonDisplayConfig
from drivers.settings.section import Section
from drivers.settings.types import Duration


class SloganEntry(Section):
    text: str = Field(min_length=1, description="What the screen shows.")
    dwell_s: Duration | None = Field(
        None, ge=1, le=3600, description="Overrides led.dwell_s for this slogan (1..3600 s)."
    )
    color: Literal["red", "green", "yellow"] | None = Field(None, description="Text colour.")
    valid_from: datetime | None = Field(None, description="Shown from (station time).")
    valid_until: datetime | None = Field(None, description="Shown until (station time).")


class SloganFile(Section):
    title: str = Field("", description="What this set is.")
    slogans: list[SloganEntry] = Field(min_length=1)


def charset_of(display: DisplayConfig) -> str:
    if isinstance(display, OnbonDisplayConfig):
        return "gb2312"  # the card renders text from its own GB2312 font
    return display.charset


def unsupported(text: str, charset: str) -> str | None:
    """The first character of `text` the charset cannot show, or None."""
    for char in text:
        try:
            char.encode(charset)
        except UnicodeEncodeError:
            return char
    return None


def text_problem(
    text: str, configs: Sequence[DisplayConfig], targets: Sequence[str] | None = None
) -> str | None:
    """Why `text` cannot go on the screens `targets` (None: every screen in `configs`), in
    the operator's language, or None: an unknown screen, a character a screen cannot show."""
    by_id = {c.id: c for c in configs}
    for display_id in targets if targets else list(by_id):
        if display_id not in by_id:
            return f"没有屏幕 {display_id} / no display {display_id!r}"
        char = unsupported(text, charset_of(by_id[display_id]))
        if char is not None:
            return (
                f"屏幕 {display_id} 无法显示字符 {char!r} / display {display_id!r} cannot show"
                f" {char!r} (U+{ord(char):04X})"
            )
    return None


def load_slogans(
    path: Path, displays: Sequence[DisplayConfig]
) -> tuple[tuple[SloganEntry, ...], list[str]]:
    """The slogans, and messages for a broken file or a character a screen cannot show."""
    if not path.exists():
        return (), []
    try:
        data, at = read_mapping(path)
    except YamlError as exc:
        return (), exc.messages
    try:
        parsed = SloganFile.model_validate(data)
    except ValidationError as exc:
        return (), schema_messages(exc, data, at)
    errors = []
    for i, slogan in enumerate(parsed.slogans):
        for display in displays:
            char = unsupported(slogan.text, charset_of(display))
            if char is not None:
                errors.append(
                    at.error(
                        ("slogans", i, "text"),
                        f"“{slogan.text[:12]}…” has {char!r} (U+{ord(char):04X}), which screen"
                        f" {display.id!r} cannot show ({charset_of(display).upper()});"
                        f" 该字符无法在屏幕上显示",
                    )
                )
    return tuple(parsed.slogans), errors
