"""The API process's composition root: its stores, the engine it asks, the HTTP app."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.types import Scope

from controller.api.bodylimit import BodyLimitMiddleware, BodyPace
from controller.api.services import build_services
from controller.config import LoadedConfig
from controller.core.clock import Clock
from controller.engine.port import Engine, EngineUnavailable
from controller.media.ingest import upload_limit_bytes

if TYPE_CHECKING:
    from controller.engine.parts import EngineParts

log = logging.getLogger(__name__)

BODY_LIMIT = 1_048_576  # any request but an upload: JSON bodies are small
FORM_ALLOWANCE = 64 * 1024  # an upload's text fields and multipart framing, beyond the file


def create_app(
    loaded: LoadedConfig, clock: Clock | None = None, engine: Engine | None = None
) -> FastAPI:
    """The HTTP app. With `engine` (the client of an engine process) it holds no hardware;
    without, it builds and runs the engine itself in its event loop (tests, one process)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.requests import ClientDisconnect

    from controller.access.sessions import SessionStore
    from controller.api.airings import router as airings_router
    from controller.api.alerts import router as alerts_router
    from controller.api.blackouts import router as blackouts_router
    from controller.api.console import console_router
    from controller.api.health import router
    from controller.api.led import router as led_router
    from controller.api.limits import WorkLimits
    from controller.api.login import LoginLimiter
    from controller.api.login import router as auth_router
    from controller.api.media import router as media_router
    from controller.api.metrics import RequestTimer, StationMetrics
    from controller.api.metrics import router as metrics_router
    from controller.api.records import router as records_router
    from controller.api.types import client_gone, engine_unavailable, validation_failed

    metrics = StationMetrics()  # outlives a restart of the lifespan, like the app

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        async with _engine_for(loaded, clock, engine) as (used, local):
            services = build_services(loaded, used, clock)
            services.local = local
            db = loaded.config.station.data_dir / "broadcastctl.sqlite3"
            sessions = SessionStore(db, services.clock)
            log.info("broadcastctl API started (pid %d): %s", os.getpid(), loaded.path)
            try:
                yield {
                    "services": services,
                    "sessions": sessions,
                    "login_limiter": LoginLimiter(services.clock),
                    "metrics": metrics,
                    "limits": WorkLimits(loaded.config.media),
                }
            finally:
                sessions.close()
                services.close()
                log.info("broadcastctl API stopped")

    app = FastAPI(title="broadcastctl", version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(EngineUnavailable, engine_unavailable)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.include_router(router)
    app.include_router(media_router)
    app.include_router(led_router)
    app.include_router(blackouts_router)
    app.include_router(records_router)
    app.include_router(airings_router)
    app.include_router(auth_router)
    app.include_router(metrics_router)
    app.include_router(alerts_router)
    app.include_router(console_router())
    upload_limit = upload_limit_bytes(loaded.config.media) + FORM_ALLOWANCE

    def body_limit(scope: Scope) -> int:
        upload = scope["method"] == "POST" and scope["path"] == "/api/media"
        return upload_limit if upload else BODY_LIMIT

    api = loaded.config.api
    pace = BodyPace(api.body_timeout_s, api.body_min_rate, api.body_deadline_s)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit, pace=pace)
    app.add_middleware(RequestTimer, observe=metrics.observe_request)
    return app


@asynccontextmanager
async def _engine_for(
    loaded: LoadedConfig, clock: Clock | None, engine: Engine | None
) -> AsyncIterator[tuple[Engine, EngineParts | None]]:
    """The engine the app asks: the one given (a client), or one built and run here."""
    if engine is not None:
        yield engine, None
        return
    from controller.engine.local import LocalEngine
    from controller.engine.metrics import EngineMetrics
    from controller.engine.parts import build_engine

    relay_metrics = EngineMetrics()
    parts = build_engine(loaded, clock, relay_metrics.observe)
    local = LocalEngine(parts, relay_metrics)
    local.bind_loop(asyncio.get_running_loop())
    await parts.start()
    log.info("broadcastctl engine started in the API process (pid %d)", os.getpid())
    try:
        yield local, parts
    finally:
        await parts.stop()
