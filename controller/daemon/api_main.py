"""The HTTP API process: console, uploads, records; asks the engine over its Unix socket and
holds no hardware, so it can be killed, flooded or slow without touching what airs."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from controller.config import ConfigError, load_config
from controller.daemon.engine_main import configure_logging
from controller.daemon.lifeline import tie_to
from controller.engine import wire

log = logging.getLogger("controller.api")
API_NICE = 5  # below the engine: under load the air gets the CPU first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="broadcastctl-api")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--parent", type=int, help="the supervisor's pid (die with it)")
    args = parser.parse_args(argv)
    tie_to(args.parent)
    configure_logging("api")
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        log.error("配置有误 / invalid config: %s", "; ".join(exc.messages))
        return 2
    try:
        os.nice(API_NICE)
    except OSError as exc:
        log.warning("nice(%d): %s", API_NICE, exc)
    from controller.app import create_app
    from controller.engine.client import EngineClient
    from controller.serve import serve

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
