"""`GET /metrics` in the Prometheus text format: airings by outcome, relay and API latency,
device health and what is on air."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Receive, Scope, Send

from controller.api.deps import ServicesDep
from controller.api.services import Services
from controller.engine.port import EngineUnavailable
from controller.records.asrun_store import OUTCOMES

PATH = "/metrics"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

router = APIRouter()


class StationMetrics:
    """One app's API latency histogram, in a registry of its own (a process may hold several
    apps, as the tests do; the global default registry would mix them). The relay latency
    histogram is the engine's: it times the commands where they are sent."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._api = Histogram(
            "broadcastctl_api_request_seconds",
            "Time the HTTP API took to answer, by method and route template.",
            ["method", "route"],
            buckets=API_BUCKETS,
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, seconds: float) -> None:
        self._api.labels(method=method, route=route).observe(seconds)

    def exposition(self, svc: Services) -> bytes:
        """The whole text: the API's histogram, the engine's series, the record read now."""
        try:
            engine_text: bytes | None = svc.engine.metrics_text()
        except EngineUnavailable:
            engine_text = None
        station = CollectorRegistry(auto_describe=False)
        station.register(_StationCollector(svc, engine_text is not None))
        return generate_latest(self.registry) + (engine_text or b"") + generate_latest(station)


class _StationCollector:
    """Reads the record at scrape time; nothing is kept between scrapes."""

    def __init__(self, svc: Services, engine_up: bool) -> None:
        self._svc, self._engine_up = svc, engine_up

    def collect(self) -> Iterator[Metric]:
        svc = self._svc
        airings = CounterMetricFamily(
            "broadcastctl_airings",
            "Closed as-run rows (one per airing and zone) by outcome.",
            labels=["outcome"],
        )
        counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        counts.update(outcome_counts(svc.loaded.config.station.data_dir / "broadcastctl.sqlite3"))
        for outcome, count in sorted(counts.items()):
            airings.add_metric([outcome], count)
        yield airings
        yield GaugeMetricFamily(
            "broadcastctl_engine_up",
            "1 if the air engine answers the API, 0 if not (restarting, stopped, stuck).",
            value=1.0 if self._engine_up else 0.0,
        )


def outcome_counts(db: Path) -> dict[str, int]:
    """Closed as-run rows by outcome, read on a connection of its own, read-only (the store
    is another module's; this must never write or hold its lock)."""
    uri = f"{db.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
        rows = conn.execute(
            "SELECT outcome, COUNT(*) FROM asrun WHERE outcome IS NOT NULL GROUP BY outcome"
        ).fetchall()
    return {str(outcome): int(count) for outcome, count in rows}


class RequestTimer:
    """ASGI middleware: times every HTTP request and reports it by method and route template
    (`/api/media/{clip_id}`, not the id: one series per route, whatever the callers send)."""

    def __init__(self, app: ASGIApp, observe: Callable[[str, str, float], None]) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            # The router records the route it matched in the scope it was handed.
            template = getattr(scope.get("route"), "path", None)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = template if isinstance(template, str) else "unmatched"
            self.observe(method, route, time.perf_counter() - started)


@router.get(PATH, response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request, svc: ServicesDep) -> Response:
    """Prometheus metrics (text format); no login: read-only, and the API listens on
    loopback unless configured otherwise."""
    found: StationMetrics = request.state.metrics
    return Response(found.exposition(svc), media_type=CONTENT_TYPE_LATEST)
