"""The LED screens over HTTP: push a temporary message (police warning) that preempts slogans."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from controller.api.auth import Uploader
from controller.api.deps import ServicesDep
from controller.api.types import STRICT
from controller.engine.port import ScreenText

router = APIRouter()


class LedMessageIn(BaseModel):
    model_config = STRICT

    text: str = Field(min_length=1, max_length=500, description="What the screens show.")
    displays: list[str] | None = Field(None, description="Screen ids; omitted: every screen.")
    minutes: float = Field(gt=0, le=1440, description="How long it preempts the slogans.")
    color: Literal["red", "green", "yellow"] = Field("red", description="Text colour.")
    reason: str = Field("", max_length=500, description="Why (kept in the audit log).")


@router.post("/api/led/messages", status_code=201)
def push_message(
    body: LedMessageIn, who: Uploader, svc: ServicesDep
) -> dict[str, Any]:
    """Show a temporary message on the screens (police or operator); it reverts by itself."""
    try:
        message = svc.engine.push_message(
            ScreenText(body.text, body.displays, body.minutes, who.user, body.color)
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    svc.audit.record(
        who, "led.message", ",".join(message.displays), body.reason,
        detail={"text": body.text, "minutes": body.minutes},
    )  # fmt: skip
    return {
        "id": message.id,
        "text": message.text,
        "displays": list(message.displays),
        "until": message.until.isoformat(),
        "by": message.by,
    }
