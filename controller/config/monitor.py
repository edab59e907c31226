"""`monitor:` in config.yaml: what the station watches in what it airs."""

from __future__ import annotations

from pydantic import Field

from drivers.settings.section import Section
from drivers.settings.types import Duration


class MonitorConfig(Section):
    silence_s: Duration = Field(
        10.0, ge=1, le=600,
        description="Silence inside a clip (not the gaps between clips) longer than this is "
        "dead air: a fault while it lasts, and in the record (1..600 s).",
    )  # fmt: skip
