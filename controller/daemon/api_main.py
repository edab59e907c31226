"""The HTTP API process: console, uploads, records; asks the engine over its Unix socket and
holds no hardware, so it can be killed, flooded or slow without touching what airs."""

from __future__ import annotations

import logging
import os

from controller.daemon.child import EXIT_CONFIG, start_child
from controller.engine import wire

log = logging.getLogger("controller.api.health")
API_NICE = 5  # below the engine: under load the air gets the CPU first


def main(argv: list[str] | None = None) -> int:
    loaded = start_child("api", argv)
    if loaded is None:
        return EXIT_CONFIG
    try:
        os.nice(API_NICE)
    except OSError as exc:
        log.warning("nice(%d): %s", API_NICE, exc)
    from controller.api.app import create_app
    from controller.api.serve import serve
    from controller.engine.client import EngineClient

    data_dir = loaded.config.station.data_dir
    client = EngineClient(wire.socket_path(data_dir), wire.token_path(data_dir))
    client.start()
    try:
        serve(create_app(loaded, engine=client), loaded.config.api)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
