"""Alerts over HTTP: the recent ones and how each delivery went; a test on every channel.

Read from the outbox in the station database (the engine's notifier writes it); the test
sends from this process, on a worker thread, and says per channel what happened. Channel
addresses and secrets are never part of an answer: a channel is its name and type.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from controller.alerts.trial import send_test
from controller.api.auth import Admin, Operator
from controller.api.deps import ServicesDep

router = APIRouter()


@router.get("/api/alerts")
def get_alerts(
    _who: Operator, svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    """The most recent alerts, newest first, each with its delivery on every channel."""
    cfg = svc.loaded.config
    return {
        "channels": [
            {"name": c.name, "type": c.type, "min_severity": c.min_severity}
            for c in cfg.alerts.channels
        ],
        "alerts": [a.to_dict(cfg.station.tz) for a in svc.alerts.recent(limit)],
    }


@router.post("/api/alerts/test")
def test_alerts(who: Admin, svc: ServicesDep) -> dict[str, Any]:
    """Send a test alert on every channel now (admin): per channel, delivered or why not."""
    cfg = svc.loaded.config
    results = send_test(
        cfg.alerts, cfg.station.name, cfg.station.tz, svc.alerts, svc.clock, who.user
    )
    svc.audit.record(
        who, "alerts.test", ",".join(r.channel for r in results) or "-",
        detail={"delivered": [r.channel for r in results if r.ok]},
    )  # fmt: skip
    message = "" if results else "未配置告警渠道 / no alert channels configured"
    return {
        "message": message,
        "channels": [
            {"name": r.channel, "type": r.type, "ok": r.ok, "detail": r.detail} for r in results
        ],
    }
