"""Overrides over HTTP: play now (manual), 停播 (stop), and 紧急插播 (emergency, CAP 1.2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from controller.access.users import Principal
from controller.api import override_requests as desk
from controller.api.auth import AnyUser, Operator
from controller.api.deps import ServicesDep
from controller.api.limits import LimitsDep
from controller.api.services import Services
from controller.api.types import STRICT, Moment
from controller.core.airing_id import AiringId
from controller.planning.planner import EMERGENCY_PRIORITY, MANUAL_PRIORITY, POLICE_PRIORITY

router = APIRouter()


Zones = Literal["all"] | list[Annotated[str, Field(max_length=100)]]
ClipIds = list[Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")]]


class AiringIn(BaseModel):
    model_config = STRICT

    playlist: str | None = Field(None, max_length=100, description="A playlist name, or…")
    clips: ClipIds | None = Field(None, max_length=50, description="…library clip ids.")
    zones: Zones = Field("all", description='"all" or zone ids.')
    start: Moment | None = Field(None, description="When; omitted: now.")
    duration_s: float | None = Field(None, gt=0, le=6 * 3600, description="How long, or…")
    repeats: int | None = Field(None, ge=1, le=100, description="…how many times (default 1).")
    priority: int = Field(MANUAL_PRIORITY, ge=1, le=POLICE_PRIORITY, description="≤ 80.")
    reason: str = Field(min_length=1, max_length=500, description="Why (kept in the record).")
    expires: Moment | None = Field(None, description="Never airs past this.")
    led_text: str | None = Field(None, min_length=1, max_length=200, description="Screens.")


class StopIn(BaseModel):
    model_config = STRICT

    reason: str = Field(min_length=1, max_length=500)


class EmergencyIn(BaseModel):
    """Fields after CAP 1.2 (OASIS Common Alerting Protocol)."""

    model_config = STRICT

    identifier: str = Field(
        min_length=1, max_length=200, pattern=r"^[^\s,<&]+$",
        description="Unique per alert; the same identifier twice airs once.",
    )  # fmt: skip
    status: Literal["actual", "exercise"] = Field(description="exercise: a drill (演练).")
    msgType: Literal["alert", "update", "cancel"] = Field("alert")
    references: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=20, description="Identifiers it updates or cancels."
    )
    expires: Moment | None = Field(None, description="Never airs past this.")
    zones: Zones = Field("all")
    clips: ClipIds | None = Field(None, max_length=50)
    playlist: str | None = Field(None, max_length=100)
    repeats: int = Field(1, ge=1, le=100)
    interval_s: float = Field(0.0, ge=0, le=3600, description="Silence between repeats.")
    led_text: str | None = Field(None, min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


def _fail(exc: desk.DeskError) -> HTTPException:
    return HTTPException(exc.status, str(exc))


@router.get("/api/airings")
def list_airings(_who: AnyUser, svc: ServicesDep) -> list[dict[str, object]]:
    """Overrides (manual and emergency) that end after yesterday, with their state."""
    since = svc.clock.now() - timedelta(days=1)
    states = svc.engine.airing_states()  # asked once for the whole list
    return [desk.describe(svc, o, states) for o in svc.overrides.ending_after(since)]


@router.post("/api/airings", status_code=201)
def create_airing(body: AiringIn, who: Operator, svc: ServicesDep) -> dict[str, object]:
    """Play a playlist or clips now or at a time, on zones, priority ≤ 80 (operator)."""
    req = desk.Request(
        "manual", body.priority, body.zones, body.playlist, body.clips, body.start,
        body.duration_s, body.repeats, None, body.expires, body.reason, body.led_text,
    )  # fmt: skip
    try:
        stored, _ = desk.create(svc, req, who)
    except desk.DeskError as exc:
        raise _fail(exc) from None
    shown = stored.to_dict(svc.loaded.config.station.tz)
    svc.audit.record(who, "airing.create", stored.id, body.reason, detail=shown)
    return desk.describe(svc, stored)


@router.delete("/api/airings/{airing_id}")
async def delete_airing(
    airing_id: str, who: Operator, svc: ServicesDep, limits: LimitsDep,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, object]:  # fmt: skip
    """Stop an airing on air (an override or a slot), or cancel an override not yet aired."""
    # The operator routes run on threads of their own: never behind uploads (issue 9).
    return await limits.run(limits.operator, _delete_airing, svc, who, airing_id, reason)


def _delete_airing(svc: Services, who: Principal, airing_id: str, reason: str) -> dict[str, object]:
    why = reason or "操作员停止 / stopped by operator"
    found = svc.overrides.get(AiringId.override_named(airing_id))
    if found is not None:
        if found.state != "active":
            raise HTTPException(409, f"已{found.state} / already {found.state}")
        done = desk.end(svc, found, who, why)
        svc.audit.record(who, "airing.stop", found.id, why)
        return desk.describe(svc, done or found)
    if svc.engine.stop_airing(airing_id, f"停播 / stopped: {why}（{who.user}）"):
        svc.audit.record(who, "airing.stop", airing_id, why)
        return {"id": airing_id, "state": "stopped"}
    raise HTTPException(404, f"没有正在播出的 {airing_id} / nothing on air as {airing_id!r}")


@router.post("/api/stop")
async def stop(body: StopIn, who: Operator, svc: ServicesDep, limits: LimitsDep) -> dict[str, Any]:
    """停播: stop what is on air now; later slots still air (operator)."""
    return await limits.run(limits.operator, _stop, svc, who, body)


def _stop(svc: Services, who: Principal, body: StopIn) -> dict[str, Any]:
    stopped = desk.stop_all(svc, who, body.reason)
    svc.audit.record(who, "stop", ",".join(stopped), body.reason, detail={"stopped": stopped})
    return {"stopped": stopped}


@router.post("/api/emergency", status_code=201, response_model=None)
async def emergency(body: EmergencyIn, who: Operator, svc: ServicesDep, limits: LimitsDep) -> Any:
    """紧急插播 (operator/admin): preempts everything; the same identifier airs once."""
    return await limits.run(limits.operator, _emergency, svc, who, body)


def _emergency(svc: Services, who: Principal, body: EmergencyIn) -> Any:
    known = svc.overrides.by_identifier(body.identifier)
    if known is not None:
        return JSONResponse(desk.describe(svc, known), status_code=200)
    if body.msgType != "alert" and not body.references:
        raise HTTPException(422, "更新或取消须引用原警报 / update and cancel need references")
    cap: dict[str, object] = {
        "status": body.status,
        "msgType": body.msgType,
        "references": body.references,
    }
    prepared = None
    if body.msgType != "cancel":  # an alert or an update: checked through before any change
        if body.clips is None and body.playlist is None:
            raise HTTPException(422, "须指定音频片段或节目单 / give clips or a playlist")
        exercise = body.status == "exercise"
        req = desk.Request(
            "emergency", EMERGENCY_PRIORITY, body.zones, body.playlist, body.clips, None, None,
            body.repeats, body.interval_s, body.expires,
            ("演练：" if exercise else "") + body.reason, body.led_text, body.identifier, cap,
            exercise,
        )  # fmt: skip
        try:
            prepared = desk.prepare(svc, req, who)
        except desk.DeskError as exc:
            raise _fail(exc) from None
    ended = []
    for old in desk.references(svc, body.references):
        if old.state == "active":
            desk.end(svc, old, who, f"{body.msgType} {body.identifier}: {body.reason}")
            ended.append(old.identifier)
    detail = {**body.model_dump(mode="json"), "ended": ended}
    if prepared is None:
        svc.audit.record(who, "emergency.cancel", body.identifier, body.reason, detail=detail)
        return JSONResponse(
            {"identifier": body.identifier, **cap, "state": "cancelled", "cancelled": ended}
        )
    stored, created = desk.commit(svc, prepared, who)
    if created:
        svc.audit.record(who, f"emergency.{body.msgType}", stored.id, body.reason, detail=detail)
    return JSONResponse(desk.describe(svc, stored), status_code=201 if created else 200)
