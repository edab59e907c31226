"""`zones[].power` in config.yaml: the amplifier's power draw that confirms a zone really aired."""

from __future__ import annotations

from pydantic import Field

from drivers.settings.section import Section
from drivers.settings.types import Duration

MAX_W = 100_000  # drivers/protocols/power.py takes no reading above this either


class PowerCheckConfig(Section):
    relay: str | None = Field(
        None, description='The relay channel whose meter reads the amplifier\'s draw, as '
        '"device:channel" (a Tasmota with energy monitoring, a Shelly PM); default: the '
        "zone's first relay.",
    )  # fmt: skip
    min_w: float = Field(
        gt=0, le=MAX_W,
        description="Watts at or above this confirm the amplifier is on and driving its "
        "loudspeakers (more than 0, at most 100 000 W).",
    )  # fmt: skip
    within_s: Duration = Field(
        5.0, gt=0, le=600,
        description="The draw must be seen within this long of the audio's start (0..600 s).",
    )  # fmt: skip
