"""The air engine process: the station, its relays, amplifiers, audio and screens, and the
Unix socket the API process asks. Started by the supervisor (`broadcastctl run`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3

from controller.config import ConfigError, LoadedConfig, load_config
from controller.daemon.child import EXIT_CONFIG, log_invalid, start_child
from controller.daemon.lifeline import hold_lock
from controller.engine import wire

log = logging.getLogger("controller.engine")
LOCK_WAIT_S = 60.0  # an engine still stopping (relays going off) holds the lock this long at most
EXIT_LOCKED, EXIT_FAILED = 3, 4


def main(argv: list[str] | None = None) -> int:
    loaded = start_child("engine", argv)
    if loaded is None:
        return EXIT_CONFIG
    folder = wire.run_dir(loaded.config.station.data_dir)
    lock = hold_lock(folder / "engine.lock", LOCK_WAIT_S)
    if lock is None:
        log.error("另一个播出引擎仍在运行 / another engine holds %s", folder / "engine.lock")
        return EXIT_LOCKED
    try:
        loaded = move_uploads(loaded)
    except ConfigError as exc:
        log_invalid("engine", exc)
        return EXIT_CONFIG
    try:
        return asyncio.run(serve(loaded))
    except Exception:
        log.exception("engine failed")
        return EXIT_FAILED


def move_uploads(loaded: LoadedConfig) -> LoadedConfig:
    """Uploads left in station.media_dir by an older release move to the library's home, once,
    under the engine's lock and before anything opens the library. A move that fails leaves
    the clips readable where they are; the air does not wait for it."""
    from controller.media.move import move_library

    station = loaded.config.station
    db = station.data_dir / "broadcastctl.sqlite3"
    try:
        moved = move_library(db, station.media_dir, station.library_home)
    except (OSError, sqlite3.Error):
        log.exception("媒体库迁移未完成 / moving the library failed; it stays readable in place")
        return loaded
    # A playlist may name a moved file by its old path (library/<id>/…): read it again there.
    return load_config(loaded.path) if moved else loaded


async def serve(loaded: LoadedConfig) -> int:
    from controller.api.serve import raise_open_files
    from controller.engine.local import LocalEngine
    from controller.engine.metrics import EngineMetrics
    from controller.engine.parts import build_engine
    from controller.engine.server import EngineServer

    raise_open_files()
    data_dir = loaded.config.station.data_dir
    relay_metrics = EngineMetrics()
    parts = build_engine(loaded, None, relay_metrics.observe)
    engine = LocalEngine(parts, relay_metrics)
    loop = asyncio.get_running_loop()
    engine.bind_loop(loop)
    server = EngineServer(engine, wire.socket_path(data_dir), wire.token_path(data_dir))
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    try:
        await parts.start()
        log.info("播出引擎已启动 / engine started: %s", loaded.path)
        await stop.wait()
        log.info("播出引擎正在停止 / engine stopping")
    finally:
        await server.stop()
        await parts.stop()
        log.info("播出引擎已停止 / engine stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
