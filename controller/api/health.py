"""The HTTP API (read-only part): health, the station's status, the plan."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from controller.api.deps import ServicesDep
from controller.planning.planner import FIRST_YEAR, LAST_YEAR, airing_to_dict, plan

router = APIRouter()


@router.get("/healthz")
async def healthz(svc: ServicesDep) -> dict[str, Any]:
    """Liveness: the daemon answers and its station has started (no thread needed)."""
    if not svc.engine.ready():
        raise HTTPException(503, "station starting")
    return {"ok": True}


@router.get("/api/status")
def status(svc: ServicesDep) -> dict[str, Any]:
    """What is on air, on which zones, the next airings, and device health."""
    return svc.engine.status()


@router.get("/api/plan")
def get_plan(
    svc: ServicesDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
) -> list[dict[str, object]]:
    """The planner's output: every airing in the range with its per-zone status."""
    cfg = svc.loaded.config
    start = from_ or svc.clock.now().astimezone(cfg.station.tz).date()
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise HTTPException(
            422,
            f"日期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间 / from must lie in {FIRST_YEAR}–{LAST_YEAR}",
        )
    tz = cfg.station.tz
    return [airing_to_dict(a, tz) for a in plan(cfg, svc.all_blackouts(), start, days)]
