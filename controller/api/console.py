"""The web console over HTTP: its page and files, live status as server-sent events, and the
preview of a proposed blackout."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from controller.api.auth import Admin, AnyUser
from controller.api.blackout_rules import BlackoutIn, checked_zones, silences, station_aware
from controller.api.deps import ServicesDep
from controller.api.services import Services
from controller.engine.port import EngineUnavailable
from controller.planning.planner import Blackout, airing_to_dict, airings_between

log = logging.getLogger(__name__)

WEB = Path(__file__).with_name("web")
# No inline script or style anywhere: a string from the server that slipped into the page as
# markup still could not run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(?:js|css|svg)")

MAX_STREAMS = 20
TICK_S = 0.5
KEEPALIVE_S = 15.0
# A stream ends after this long and the browser reconnects, so a revoked session or a
# logged-out user stops receiving status within this time.
MAX_STREAM_S = 600.0
RETRY_MS = 1000  # the browser reconnects this soon after a stream ends


class StatusStreams:
    """The open status streams of one app: how many (capped) and the status they share, so
    twenty open consoles compute it once per tick, not twenty times."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._svc: Services | None = None
        self._taken = -1e9
        self._key, self._payload = "", ""
        self._lock = asyncio.Lock()

    async def snapshot(self, svc: Services) -> tuple[str, str]:
        """(what decides a change, the event's JSON): the status without its `now` clock.
        Asked of the engine in a thread: the API's event loop never waits for it."""
        async with self._lock:
            fresh = time.monotonic() - self._taken < TICK_S * 0.8
            if svc is not self._svc or not fresh:
                status = jsonable_encoder(await asyncio.to_thread(svc.engine.status))
                self._payload = json.dumps(status, ensure_ascii=False, separators=(",", ":"))
                status.pop("now", None)
                self._key = json.dumps(status, ensure_ascii=False, sort_keys=True)
                self._svc, self._taken = svc, time.monotonic()
            return self._key, self._payload


class _EventStream(StreamingResponse):
    """A streaming response that gives its place back however it ends (done, client gone,
    cancelled), even if its body was never started."""

    def __init__(self, body: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def server_exiting() -> bool:
    """Whether uvicorn has been asked to stop. It waits for open responses to finish before
    the app's lifespan shutdown, so an endless stream has to notice by itself; uvicorn's own
    SIGTERM handler (a bound method of its Server) is the only witness. False elsewhere."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return getattr(server, "should_exit", False) is True


async def status_events(svc: Services, streams: StatusStreams) -> AsyncIterator[str]:
    """`event: status` now and at each change (checked every TICK_S), a comment line every
    KEEPALIVE_S otherwise; ends when the server stops or after MAX_STREAM_S."""
    yield f"retry: {RETRY_MS}\n\n"
    opened = last_sent = time.monotonic()
    last_key = None
    while not server_exiting() and time.monotonic() - opened < MAX_STREAM_S:
        try:
            key, payload = await streams.snapshot(svc)
        except EngineUnavailable as exc:  # restarting: end, the browser retries
            log.warning("status for the event stream: %s", exc.why)
            return
        except Exception:  # the station is going away under us: end, the browser retries
            log.exception("status for the event stream failed")
            return
        now = time.monotonic()
        if key != last_key:
            yield f"event: status\ndata: {payload}\n\n"
            last_key, last_sent = key, now
        elif now - last_sent >= KEEPALIVE_S:
            yield ": keepalive\n\n"
            last_sent = now
        await asyncio.sleep(TICK_S)


def console_router(max_streams: int | None = None) -> APIRouter:
    """The console's routes; each app gets its own count of open streams."""
    router = APIRouter()
    streams = StatusStreams(MAX_STREAMS if max_streams is None else max_streams)

    @router.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8",
                            headers=PAGE_HEADERS)  # fmt: skip

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        path = WEB / name
        if not STATIC_NAME.fullmatch(name) or not path.is_file():
            raise HTTPException(404, f"没有此文件 / no file {name!r}")
        return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers=PAGE_HEADERS)

    @router.get("/api/events", response_model=None)
    async def events(svc: ServicesDep, who: AnyUser) -> StreamingResponse:
        """Server-sent events: `status` (as GET /api/status) at once and at every change."""
        if streams.open >= streams.limit:
            raise HTTPException(
                503,
                "实时连接过多，请稍后再试 / too many live connections, retry later",
                headers={"Retry-After": "10"},
            )
        streams.open += 1

        def release() -> None:
            streams.open -= 1

        return _EventStream(status_events(svc, streams), release)

    @router.post("/api/blackouts/preview")
    def preview_blackout(body: BlackoutIn, who: Admin, svc: ServicesDep) -> dict[str, Any]:
        """The airings a proposed blackout would silence or cut, as they would then look in
        the plan (admin). Nothing is stored."""
        start, end = station_aware(svc, body.start), station_aware(svc, body.end)
        zones = checked_zones(svc, start, end, body.zones)
        proposed = Blackout(
            body.name, start, end, None if zones is None else frozenset(zones), body.reason,
            body.threshold,
        )  # fmt: skip
        touched = {a["id"] for a in silences(svc, proposed)}
        cfg = svc.loaded.config
        longest = max((s.duration for s in cfg.schedule.slots), default=0.0)
        after = airings_between(
            cfg, [*svc.all_blackouts(), proposed], start - timedelta(seconds=longest), end
        )
        return {
            "name": body.name,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "zones": "all" if zones is None else zones,
            "threshold": body.threshold,
            "silences": [airing_to_dict(a, cfg.station.tz) for a in after if a.id in touched],
        }

    return router
