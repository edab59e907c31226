"""Serves the app: uvicorn behind the connection guard, with proxy headers ignored (uvicorn
trusts X-Forwarded-For from 127.0.0.1 by default) and the open-files limit raised."""

from __future__ import annotations

import logging
import resource

import uvicorn
from starlette.types import ASGIApp

from controller.api.httpguard import ConnectionGate, GuardedSocket, guarded_protocol
from controller.config.models import ApiConfig

log = logging.getLogger(__name__)
FD_RESERVE = 256  # descriptors kept for the engine: database, devices, audio, ffmpeg pipes
BACKLOG = 128  # also the batch asyncio accepts in one turn of its loop


def raise_open_files() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard one; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = soft if hard == resource.RLIM_INFINITY else hard
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("open files: soft limit stays %d (hard %d): %s", soft, hard, exc)
            return soft
    log.info("open files: soft limit %d -> %d (hard %s)", soft, target, hard)
    return target


def connection_cap(configured: int, open_files: int) -> int:
    cap = min(configured, max(8, open_files - FD_RESERVE))
    if cap < configured:
        log.warning(
            "api.max_connections %d lowered to %d: only %d open files allowed",
            configured, cap, open_files,
        )  # fmt: skip
    return cap


def build_server(app: ASGIApp, api: ApiConfig, port: int | None = None) -> tuple[
    uvicorn.Server, GuardedSocket
]:  # fmt: skip
    """The server and its listening socket (bound now: `port` 0 picks a free one)."""
    gate = ConnectionGate(connection_cap(api.max_connections, raise_open_files()))
    config = uvicorn.Config(
        app, workers=1, log_level="info", backlog=BACKLOG,
        log_config=None,  # its lines go to the process's handlers (controller.core.logs)
        timeout_graceful_shutdown=3,  # an open console stream must not hold up a stop
        proxy_headers=False,  # controller.api.forwarded decides whom to believe
        http=guarded_protocol(gate, api.header_timeout_s),
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers
    )  # fmt: skip
    sock = GuardedSocket.listen_on(api.host, api.port if port is None else port, gate, BACKLOG)
    return uvicorn.Server(config), sock


def serve(app: ASGIApp, api: ApiConfig) -> None:
    server, sock = build_server(app, api)
    host, port = sock.getsockname()[:2]
    log.info("HTTP API on http://%s:%d (at most %d connections)", host, port, sock.gate.limit)
    server.run(sockets=[sock])
