"""Blackout management over HTTP: list, create (admin), change and remove stored blackouts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from controller.api.auth import Admin, AnyUser
from controller.api.blackout_rules import (
    BlackoutIn,
    BlackoutPatch,
    checked_zones,
    silences,
    station_aware,
)
from controller.api.deps import ServicesDep
from controller.api.services import Services
from controller.core.stationtime import iso
from controller.planning.planner import blackouts_from_config
from controller.records.blackouts import StoredBlackout

router = APIRouter()


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
    return {**_shown(svc, stored), "silences": silences(svc, stored.to_blackout())}


@router.get("/api/blackouts")
def list_blackouts(_who: AnyUser, svc: ServicesDep) -> list[dict[str, object]]:
    """Every blackout: config ones (read-only, `source: config`) then stored ones."""
    return [*_config_dicts(svc), *(_shown(svc, b) for b in svc.blackouts.list())]


@router.post("/api/blackouts", status_code=201)
def create_blackout(body: BlackoutIn, who: Admin, svc: ServicesDep) -> dict[str, object]:
    """Create a blackout (admin); the answer lists the airings it silences or cuts."""
    start, end = station_aware(svc, body.start), station_aware(svc, body.end)
    zones = checked_zones(svc, start, end, body.zones)
    stored = svc.blackouts.add(body.name, start, end, zones, body.reason, who.user, body.threshold)
    answer = _with_silences(svc, stored)
    svc.engine.kick()  # one that starts now cuts what is on air
    svc.audit.record(
        who, "blackout.create", str(stored.id), body.reason, detail=_shown(svc, stored)
    )
    return answer


@router.patch("/api/blackouts/{blackout_id}")
def update_blackout(
    blackout_id: str, body: BlackoutPatch, who: Admin, svc: ServicesDep
) -> dict[str, object]:
    """Change a stored blackout (admin); config blackouts answer 409."""
    old = _stored(svc, blackout_id)
    start = station_aware(svc, body.start) if body.start else old.start
    end = station_aware(svc, body.end) if body.end else old.end
    zones_in: Literal["all"] | list[str] = (
        body.zones if body.zones is not None else ("all" if old.zones is None else list(old.zones))
    )
    zones = checked_zones(svc, start, end, zones_in)
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
    blackout_id: str,
    who: Admin,
    svc: ServicesDep,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, object]:
    """Remove a stored blackout (admin; kept in the database as deleted)."""
    old = _stored(svc, blackout_id)
    if not svc.blackouts.delete(old.id):
        raise HTTPException(404, f"没有静默期 {blackout_id} / no blackout {blackout_id}")
    svc.audit.record(who, "blackout.delete", str(old.id), reason, detail=_shown(svc, old))
    return {"deleted": old.id}
