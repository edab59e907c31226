"""What a blackout entered over HTTP may be, and which airings it would silence: shared by the
blackout routes and the console's preview."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import HTTPException
from pydantic import BaseModel, Field

from controller.api.services import Services
from controller.api.types import STRICT
from controller.core.stationtime import aware
from controller.planning.planner import (
    FIRST_YEAR,
    LAST_YEAR,
    Blackout,
    airing_to_dict,
    airings_between,
    plan_zone,
)

# A blackout is a quiet period of days or weeks; far dates would only overflow the planner.
MAX_BLACKOUT = timedelta(days=400)


class BlackoutIn(BaseModel):
    model_config = STRICT

    name: str = Field(min_length=1, max_length=100, description="e.g. 2028年高考.")
    start: datetime = Field(description="Start; station time unless an offset is given.")
    end: datetime = Field(description="End (exclusive); after start.")
    zones: Literal["all"] | list[str] = Field("all", description='"all" or zone ids.')
    reason: str = Field("", max_length=500, description="Why the station is silent.")
    threshold: int = Field(
        100, ge=0, le=101,
        description="Airings below this priority are silenced (schedule 50, manual 70, police"
        " 80, emergency 100); 100 lets emergencies through, 101 silences everything.",
    )  # fmt: skip


class BlackoutPatch(BaseModel):
    model_config = STRICT

    name: str | None = Field(None, min_length=1, max_length=100)
    start: datetime | None = None
    end: datetime | None = None
    zones: Literal["all"] | list[str] | None = None
    reason: str | None = Field(None, max_length=500)
    threshold: int | None = Field(None, ge=0, le=101)


def station_aware(svc: Services, moment: datetime) -> datetime:
    return aware(moment, svc.loaded.config.station.tz)


def checked_zones(
    svc: Services, start: datetime, end: datetime, zones: Literal["all"] | list[str]
) -> list[str] | None:
    """The zones as stored (None = all); 422 on a bad window or an unknown zone."""
    if end <= start:
        raise HTTPException(422, "结束时间须晚于开始时间 / end must be after start")
    if start.year < FIRST_YEAR or end.year > LAST_YEAR or end - start > MAX_BLACKOUT:
        raise HTTPException(
            422,
            f"静默期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间，且不超过 {MAX_BLACKOUT.days} 天 /"
            f" a blackout lies within {FIRST_YEAR}–{LAST_YEAR} and lasts at most"
            f" {MAX_BLACKOUT.days} days",
        )
    if zones == "all":
        return None
    if not zones:
        raise HTTPException(422, '区域不能为空 / zones must be "all" or a non-empty list')
    known = {z.id for z in svc.loaded.config.zones}
    unknown = sorted(set(zones) - known)
    if unknown:
        raise HTTPException(422, f"未知区域 {', '.join(unknown)} / unknown zones {unknown}")
    return list(dict.fromkeys(zones))


def silences(svc: Services, blackout: Blackout) -> list[dict[str, object]]:
    """The airings the blackout meets on at least one of its zones (silenced or cut), as the
    planner shows them with every blackout (config and stored) applied."""
    cfg = svc.loaded.config
    longest = max((s.duration for s in cfg.schedule.slots), default=0.0)
    begin = blackout.start - timedelta(seconds=longest)
    out = []
    for a in airings_between(cfg, svc.all_blackouts(), begin, blackout.end):
        touched = any(
            plan_zone(z.zone, a.start, a.end, [blackout]).status != "scheduled" for z in a.zones
        )
        if touched:
            out.append(airing_to_dict(a, cfg.station.tz))
    return out
