"""Input types the API shares: dates within the station's years, finite numbers only, and
422 answers that always render (a NaN or 1e999 echoed back made the answer itself fail)."""

from __future__ import annotations

import logging
import math
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, ConfigDict
from starlette.requests import ClientDisconnect

from controller.planning.planner import FIRST_YEAR, LAST_YEAR

log = logging.getLogger("controller.api")

# Every request model: unknown keys refused, NaN and ±inf refused like any bad number.
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
FINITE = "须为有限数值 / must be a finite number"
YEARS = f"日期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间 / must lie in {FIRST_YEAR}–{LAST_YEAR}"


def _in_years(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(YEARS)
    return value


def _moment_in_years(value: datetime) -> datetime:
    _in_years(value)
    return value


Moment = Annotated[datetime, AfterValidator(_moment_in_years)]
Day = Annotated[date, AfterValidator(_in_years)]


def _renderable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf", "nan": JSON has no such numbers
    if isinstance(value, dict):
        return {k: _renderable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_renderable(v) for v in value]
    return value


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, with non-finite numbers named instead of echoed."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        found = dict(error)
        if found.get("type") == "finite_number":
            found["msg"] = FINITE
        elif found.get("type") == "value_error":  # our own message, Chinese first
            found["msg"] = str(found.get("msg", "")).removeprefix("Value error, ")
        errors.append(_renderable(found))
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


async def engine_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 while the air engine restarts or cannot answer: nothing was done, say so."""
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "2"})


async def client_gone(request: Request, exc: Exception) -> JSONResponse:
    """A client that went away mid-request (a phone losing signal mid-upload): one WARNING
    line, not a traceback; the answer goes nowhere, and what it sent is discarded."""
    assert isinstance(exc, ClientDisconnect)
    client = request.client.host if request.client else "?"
    log.warning(
        "客户端中途断开，请求作废 / client %s went away mid-request: %s %s",
        client, request.method, request.url.path,
    )  # fmt: skip
    return JSONResponse({"detail": "客户端已断开 / client disconnected"}, status_code=400)
