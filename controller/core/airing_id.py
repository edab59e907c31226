"""An airing's identity, written and read in this module only.

Three kinds of airing share one text form, the one the as-run record, the API and the engine
channel carry:

- a slot airing: `<start>|<slot>`, the slot's start in ISO-8601 with the station's offset at
  that instant (`2026-12-02T07:00:00+08:00|morning`);
- an override (manual, emergency): `ov:<override id>`;
- a resumed segment of either, after it was displaced by a higher priority: `<id>#r<n>`, n ≥ 1.

The text is kept as it was first written (databases written by earlier releases carry it), so
an id read back formats to the same text. Nothing outside this module splits or joins ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

OVERRIDE = "ov:"
_SLOT_SEP = "|"
_SEGMENT = "#r"
_SEGMENT_RE = re.compile(r"^(?P<base>.+)#r(?P<n>[1-9][0-9]{0,5})$")
_MAX_LEN = 300


@dataclass(frozen=True)
class AiringId:
    """One airing, or one resumed segment of it (`segment` 0 is the airing itself)."""

    base: str  # the airing's own text, without a segment
    segment: int = 0

    @classmethod
    def for_slot(cls, slot: str, start: datetime) -> AiringId:
        """The airing of `slot` that starts at `start` (aware, in the station's zone)."""
        if start.tzinfo is None:
            raise ValueError("a slot airing's start must be aware")
        return cls(f"{start.isoformat()}{_SLOT_SEP}{slot}")

    @classmethod
    def for_override(cls, override_id: str) -> AiringId:
        if not override_id or _SLOT_SEP in override_id or _SEGMENT in override_id:
            raise ValueError(f"bad override id {override_id!r}")
        return cls(OVERRIDE + override_id)

    @classmethod
    def parse(cls, text: str) -> AiringId:
        """The id `text` names; ValueError for text no airing could have."""
        if not text or len(text) > _MAX_LEN or "\x00" in text:
            raise ValueError(f"not an airing id: {text[:80]!r}")
        found = _SEGMENT_RE.match(text)
        base, segment = (found["base"], int(found["n"])) if found else (text, 0)
        if not base.startswith(OVERRIDE) and _SLOT_SEP not in base:
            raise ValueError(f"not an airing id: {text[:80]!r}")
        return cls(base, segment)

    @classmethod
    def base_of(cls, text: str) -> str:
        """The airing a stored id belongs to (a segment's airing; anything else unchanged)."""
        try:
            return cls.parse(text).base
        except ValueError:
            return text

    @classmethod
    def override_named(cls, text: str) -> str:
        """The override `text` names in a request: an airing id (`ov:<id>`, a segment of it)
        or the bare override id the API also accepts."""
        try:
            found = cls.parse(text).override_id
        except ValueError:
            return text
        return text if found is None else found

    def __str__(self) -> str:
        return self.base if self.segment == 0 else f"{self.base}{_SEGMENT}{self.segment}"

    @property
    def airing(self) -> AiringId:
        """The airing this segment resumes (itself when it is the airing)."""
        return replace(self, segment=0)

    def resumed(self, segment: int) -> AiringId:
        """The airing's `segment`-th resumed segment."""
        if segment < 1:
            raise ValueError("a resumed segment is numbered from 1")
        return replace(self, segment=segment)

    @property
    def override_id(self) -> str | None:
        """The override this airing plays, or None for a slot airing."""
        return self.base.removeprefix(OVERRIDE) if self.base.startswith(OVERRIDE) else None

    @property
    def slot(self) -> str | None:
        """The slot's name, or None for an override."""
        if self.override_id is not None:
            return None
        return self.base.partition(_SLOT_SEP)[2]

    @property
    def start_text(self) -> str | None:
        """The slot's start as the id writes it, or None for an override."""
        if self.override_id is not None:
            return None
        return self.base.partition(_SLOT_SEP)[0]

    def segments_like(self) -> tuple[str, str]:
        """A SQL `LIKE … ESCAPE '\\'` pattern that matches this airing's resumed segments."""
        escaped = self.base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return escaped + _SEGMENT + "%", "\\"
