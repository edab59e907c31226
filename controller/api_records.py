"""Blackout management, the as-run record and the compliance report over HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, NamedTuple

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from controller.api_types import STRICT, YEARS
from controller.auth import Admin, AnyUser, Operator
from controller.blackouts import StoredBlackout
from controller.planner import (
    FIRST_YEAR,
    LAST_YEAR,
    Blackout,
    airing_to_dict,
    airings_between,
    blackouts_from_config,
    plan_zone,
)
from controller.reports import compliance, compliance_csv
from controller.services import Services
from controller.stationtime import aware, days, iso, local_day
from controller.tables import asrun_csv

router = APIRouter()

MAX_REPORT_DAYS = 366
# A blackout is a quiet period of days or weeks; far dates would only overflow the planner.
MAX_BLACKOUT = timedelta(days=400)


async def services(request: Request) -> Services:
    found: Services = request.state.services
    return found


Svc = Annotated[Services, Depends(services)]


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


def _aware(svc: Services, moment: datetime) -> datetime:
    return aware(moment, svc.loaded.config.station.tz)


def _valid(
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


def _silences(svc: Services, blackout: Blackout) -> list[dict[str, object]]:
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


def _config_dicts(svc: Services) -> list[dict[str, object]]:
    tz = svc.loaded.config.station.tz
    return [
        {
            "source": "config",
            "name": b.name,
            "start": iso(b.start, tz),
            "end": iso(b.end, tz),
            "zones": "all" if b.zones is None else sorted(b.zones),
            "reason": b.reason,
            "threshold": b.threshold,
        }
        for b in blackouts_from_config(svc.loaded.config)
    ]


def _stored(svc: Services, blackout_id: str) -> StoredBlackout:
    """The stored blackout the path names; 409 for a config blackout, else 404."""
    found = svc.blackouts.get(int(blackout_id)) if blackout_id.isdigit() else None
    if found is not None:
        return found
    if any(b.name == blackout_id for b in svc.loaded.config.blackouts):
        raise HTTPException(
            409, "配置文件中的静默期只读 / blackouts from config.yaml are read-only"
        )
    raise HTTPException(404, f"没有静默期 {blackout_id} / no blackout {blackout_id}")


def _shown(svc: Services, stored: StoredBlackout) -> dict[str, object]:
    return stored.to_dict(svc.loaded.config.station.tz)


def _with_silences(svc: Services, stored: StoredBlackout) -> dict[str, object]:
    return {**_shown(svc, stored), "silences": _silences(svc, stored.to_blackout())}


@router.get("/api/blackouts")
def list_blackouts(_who: AnyUser, svc: Svc) -> list[dict[str, object]]:
    """Every blackout: config ones (read-only, `source: config`) then stored ones."""
    return [*_config_dicts(svc), *(_shown(svc, b) for b in svc.blackouts.list())]


@router.post("/api/blackouts", status_code=201)
def create_blackout(body: BlackoutIn, who: Admin, svc: Svc) -> dict[str, object]:
    """Create a blackout (admin); the answer lists the airings it silences or cuts."""
    start, end = _aware(svc, body.start), _aware(svc, body.end)
    zones = _valid(svc, start, end, body.zones)
    stored = svc.blackouts.add(body.name, start, end, zones, body.reason, who.user, body.threshold)
    answer = _with_silences(svc, stored)
    svc.engine.kick()  # one that starts now cuts what is on air
    svc.audit.record(
        who, "blackout.create", str(stored.id), body.reason, detail=_shown(svc, stored)
    )
    return answer


@router.patch("/api/blackouts/{blackout_id}")
def update_blackout(
    blackout_id: str, body: BlackoutPatch, who: Admin, svc: Svc
) -> dict[str, object]:
    """Change a stored blackout (admin); config blackouts answer 409."""
    old = _stored(svc, blackout_id)
    start = _aware(svc, body.start) if body.start else old.start
    end = _aware(svc, body.end) if body.end else old.end
    zones_in: Literal["all"] | list[str] = (
        body.zones if body.zones is not None else ("all" if old.zones is None else list(old.zones))
    )
    zones = _valid(svc, start, end, zones_in)
    name = body.name if body.name is not None else old.name
    reason = body.reason if body.reason is not None else old.reason
    threshold = body.threshold if body.threshold is not None else old.threshold
    new = svc.blackouts.update(old.id, name, start, end, zones, reason, threshold)
    if new is None:
        raise HTTPException(404, f"没有静默期 {blackout_id} / no blackout {blackout_id}")
    answer = _with_silences(svc, new)
    svc.engine.kick()
    svc.audit.record(
        who, "blackout.update", str(new.id), reason,
        detail={"before": _shown(svc, old), "after": _shown(svc, new)},
    )  # fmt: skip
    return answer


@router.delete("/api/blackouts/{blackout_id}")
def delete_blackout(
    blackout_id: str, who: Admin, svc: Svc, reason: Annotated[str, Query(max_length=500)] = ""
) -> dict[str, object]:
    """Remove a stored blackout (admin; kept in the database as deleted)."""
    old = _stored(svc, blackout_id)
    if not svc.blackouts.delete(old.id):
        raise HTTPException(404, f"没有静默期 {blackout_id} / no blackout {blackout_id}")
    svc.audit.record(who, "blackout.delete", str(old.id), reason, detail=_shown(svc, old))
    return {"deleted": old.id}


class _Days(NamedTuple):
    first: date
    last: date
    begin: datetime  # the instant `first` begins on the station's clock
    until: datetime  # the instant the day after `last` begins


def _range(svc: Services, from_: date | None, to: date | None) -> _Days:
    """The station-local days from..to (both included; both default to today) and the
    instants they span."""
    tz = svc.loaded.config.station.tz
    first = from_ or local_day(svc.clock.now(), tz)
    last = to or first
    if last < first:
        raise HTTPException(422, "结束日期早于开始日期 / `to` is before `from`")
    if (last - first).days >= MAX_REPORT_DAYS or last >= date.max:
        raise HTTPException(422, f"范围过大 / at most {MAX_REPORT_DAYS} days")
    if first.year < FIRST_YEAR or last.year > LAST_YEAR:  # year 1 in UTC overflows
        raise HTTPException(422, YEARS)
    return _Days(first, last, *days(first, last, tz))


FromQ = Annotated[date | None, Query(alias="from", description="YYYY-MM-DD, station time.")]
ToQ = Annotated[date | None, Query(description="YYYY-MM-DD, inclusive.")]
FormatQ = Annotated[Literal["json", "csv"], Query()]


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/api/asrun", response_model=None)
def get_asrun(
    _who: Operator, svc: Svc, from_: FromQ = None, to: ToQ = None, format: FormatQ = "json"
) -> list[dict[str, Any]] | Response:
    """The as-run rows whose planned start lies in the station-local days (operator/admin)."""
    span, tz = _range(svc, from_, to), svc.loaded.config.station.tz
    rows = svc.store.between(span.begin, span.until)
    if format == "csv":
        return _csv(asrun_csv(rows, tz), f"asrun-{span.first}-{span.last}.csv")
    return [r.to_dict(tz) for r in rows]


@router.get("/api/reports/compliance", response_model=None)
def get_compliance(
    _who: Operator, svc: Svc, from_: FromQ = None, to: ToQ = None, format: FormatQ = "json"
) -> list[dict[str, object]] | Response:
    """Per zone per day: planned, aired, hardware-confirmed and lost minutes (operator/admin)."""
    span = _range(svc, from_, to)
    report = compliance(svc.store.between(span.begin, span.until), svc.loaded.config.station.tz)
    if format == "csv":
        return _csv(compliance_csv(report), f"compliance-{span.first}-{span.last}.csv")
    return [z.to_dict() for z in report]
