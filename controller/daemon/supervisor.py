"""`broadcastctl run`: starts the engine, then the API, restarts either when it dies, stops
the engine whose loop no longer answers, and tells systemd it is alive (sd_notify).

The engine starts first and alone: it opens (and migrates) the database and owns every
device; the API starts once the engine's socket answers. A child that exits is started again
after 1 s, doubling to 30 s while it keeps failing. Stopping (SIGTERM, SIGINT) stops the API
first, then the engine, which switches everything off and closes the record.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from controller.alerts.events import daemon_restarted
from controller.alerts.outbox import raise_elsewhere
from controller.core.clock import SystemClock
from controller.daemon import sdnotify
from controller.engine import wire
from controller.engine.client import EngineClient
from controller.engine.port import EngineUnavailable

log = logging.getLogger("controller.supervisor")

TICK_S = 0.25
FIRST_BACKOFF_S, MAX_BACKOFF_S, HEALTHY_S = 1.0, 30.0, 60.0
PING_EVERY_S, STUCK_S = 5.0, 20.0  # an engine that answers no ping for STUCK_S is stopped
ENGINE_UP_WAIT_S = 60.0
STOP_WAIT_S = {"api": 10.0, "engine": 40.0}


@dataclass
class Child:
    name: str
    module: str
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float | None = None
    restarts: int = 0
    answered: float = field(default_factory=time.monotonic)


class Supervisor:
    def __init__(self, config_path: Path, data_dir: Path) -> None:
        self.config_path = config_path.resolve()
        self.run_dir = wire.run_dir(data_dir)
        self.db_path = data_dir / "broadcastctl.sqlite3"
        self.engine = Child("engine", "controller.daemon.engine_main")
        self.api = Child("api", "controller.daemon.api_main")
        self.client = EngineClient(wire.socket_path(data_dir), wire.token_path(data_dir), 2.0)
        self.stopping = threading.Event()
        self._last_ping = 0.0
        self._engine_up = False

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._write_pid("supervisor", os.getpid())
        self._spawn(self.engine)
        self._wait_engine_socket()
        watchdog = sdnotify.watchdog_interval_s()
        last_watchdog = 0.0
        while not self.stopping.wait(TICK_S):
            now = time.monotonic()
            for child in (self.engine, self.api):
                self._tend(child, now)
            self._check_engine(now)
            if self.api.proc is None and self._engine_up:
                self._spawn(self.api)  # once, after the engine opened the database
                sdnotify.notify("READY=1")
            if watchdog is not None and now - last_watchdog >= watchdog:
                sdnotify.notify("WATCHDOG=1")
                last_watchdog = now
        sdnotify.notify("STOPPING=1")
        self._stop(self.api)
        self._stop(self.engine)
        log.info("已停止 / stopped")
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("收到 %s，正在停止 / stopping", signal.Signals(signum).name)
        self.stopping.set()

    def _spawn(self, child: Child) -> None:
        argv = [sys.executable, "-m", child.module, "--config", str(self.config_path)]
        child.proc = subprocess.Popen([*argv, "--parent", str(os.getpid())])
        child.started = child.answered = time.monotonic()
        child.restart_at = None
        self._write_pid(child.name, child.proc.pid)
        log.info("%s 已启动 / started (pid %d)", child.name, child.proc.pid)

    def _tend(self, child: Child, now: float) -> None:
        """Notice a child that exited; start it again when its back-off has passed."""
        if child.proc is not None and child.restart_at is None:
            code = child.proc.poll()
            if code is None:
                return
            if now - child.started >= HEALTHY_S:
                child.backoff_s = FIRST_BACKOFF_S
            log.error(
                "%s 已退出（%s），%.0f 秒后重启 / %s exited (%s), restarting in %.0f s",
                child.name, _how(code), child.backoff_s, child.name, _how(code), child.backoff_s,
            )  # fmt: skip
            child.restart_at = now + child.backoff_s
            child.backoff_s = min(child.backoff_s * 2, MAX_BACKOFF_S)
            self._tell_crash(child.name, _how(code))
        if child.restart_at is not None and now >= child.restart_at:
            child.restarts += 1
            self._spawn(child)

    def _tell_crash(self, name: str, how: str) -> None:
        """Queued for the engine's notifier (it sends it once it runs again); never fatal."""
        try:
            raise_elsewhere(self.db_path, daemon_restarted(name, how, SystemClock().now()))
        except Exception:
            log.exception("crash alert not queued")

    def _check_engine(self, now: float) -> None:
        """Ping the engine now and then; one whose loop is stuck is stopped (and restarted by
        `_tend`): the dead-man switches the relays off meanwhile."""
        engine = self.engine
        if engine.proc is None or engine.proc.poll() is not None:
            return
        if now - self._last_ping < PING_EVERY_S:
            return
        self._last_ping = now
        try:
            self.client.ping()
            engine.answered, self._engine_up = now, True
        except EngineUnavailable as exc:
            if now - engine.answered >= STUCK_S:
                log.error(
                    "播出引擎 %.0f 秒无响应，重启 / engine not answering: %s", STUCK_S, exc.why
                )
                self._stop(engine)

    def _wait_engine_socket(self) -> None:
        deadline = time.monotonic() + ENGINE_UP_WAIT_S
        while not self.stopping.is_set() and time.monotonic() < deadline:
            proc = self.engine.proc
            if proc is None or proc.poll() is not None:
                return  # it failed: the loop restarts it, and then the API
            try:
                self.client.ping()
                self._engine_up = True
                return
            except EngineUnavailable:
                time.sleep(0.1)
        log.warning("engine socket not up after %.0f s", ENGINE_UP_WAIT_S)

    def _stop(self, child: Child) -> None:
        proc = child.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_WAIT_S[child.name])
        except subprocess.TimeoutExpired:
            log.error(
                "%s 未在 %.0f 秒内停止，强制结束 / killed", child.name, STOP_WAIT_S[child.name]
            )
            proc.kill()
            proc.wait(5)

    def _write_pid(self, name: str, pid: int) -> None:
        (self.run_dir / f"{name}.pid").write_text(f"{pid}\n")


def _how(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"
