"""The as-run record and the compliance report over HTTP (JSON or CSV, station-local days)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, NamedTuple

from fastapi import APIRouter, HTTPException, Query, Response

from controller.api.auth import Operator
from controller.api.deps import ServicesDep
from controller.api.services import Services
from controller.api.types import YEARS
from controller.core.stationtime import days, local_day
from controller.planning.planner import FIRST_YEAR, LAST_YEAR
from controller.records.asrun_export import asrun_csv
from controller.records.compliance import compliance, compliance_csv

router = APIRouter()

MAX_REPORT_DAYS = 366


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
    _who: Operator, svc: ServicesDep, from_: FromQ = None, to: ToQ = None, format: FormatQ = "json"
) -> list[dict[str, Any]] | Response:
    """The as-run rows whose planned start lies in the station-local days (operator/admin)."""
    span, tz = _range(svc, from_, to), svc.loaded.config.station.tz
    rows = svc.store.between(span.begin, span.until)
    if format == "csv":
        return _csv(asrun_csv(rows, tz), f"asrun-{span.first}-{span.last}.csv")
    return [r.to_dict(tz) for r in rows]


@router.get("/api/reports/compliance", response_model=None)
def get_compliance(
    _who: Operator, svc: ServicesDep, from_: FromQ = None, to: ToQ = None, format: FormatQ = "json"
) -> list[dict[str, object]] | Response:
    """Per zone per day: planned, aired, hardware-confirmed and lost minutes (operator/admin)."""
    span = _range(svc, from_, to)
    report = compliance(svc.store.between(span.begin, span.until), svc.loaded.config.station.tz)
    if format == "csv":
        return _csv(compliance_csv(report), f"compliance-{span.first}-{span.last}.csv")
    return [z.to_dict() for z in report]
