"""What both children of the supervisor do first: read their arguments, tie their life to the
supervisor's, log with their name, load the config (or say why not), then log to their file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from controller.alerts.refused import tell_refused
from controller.config import ConfigError, LoadedConfig, load_config
from controller.core.clock import SystemClock
from controller.core.logs import configure_logging, log_to_file
from controller.daemon.lifeline import tie_to

EXIT_CONFIG = 2


def start_child(process: str, argv: list[str] | None) -> LoadedConfig | None:
    """The config of the `process` ("engine", "api") started with `argv`; None (logged) if
    it is invalid."""
    parser = argparse.ArgumentParser(prog=f"broadcastctl-{process}")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--parent", type=int, help="the supervisor's pid (die with it)")
    args = parser.parse_args(argv)
    tie_to(args.parent)
    configure_logging(process)
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        log_invalid(process, exc)
        if process == "engine":  # the one child that tells: the API refuses the same file
            tell_refused(args.config, exc.messages, SystemClock().now())
        return None
    station = loaded.config.station
    log_to_file(station.data_dir / "log", process, station.tz)
    return loaded


def log_invalid(process: str, exc: ConfigError) -> None:
    logging.getLogger(f"controller.{process}").error(
        "配置有误 / invalid config: %s", "; ".join(exc.messages)
    )
