"""The API process's end of the channel: the `Engine` interface over the engine's Unix socket.

Each call is one short connection (a Unix socket connects in microseconds; nothing is shared
between the API's threads). A call that cannot reach the engine, or gets no answer within
`timeout_s`, raises `EngineUnavailable`, which the API answers with 503 in the operator's
words. A thread pings the engine every second, so `ready()` never waits.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from controller.engine import wire
from controller.engine.port import AiringStates, EngineUnavailable, ScreenText, ShownMessage

log = logging.getLogger(__name__)
PING_S = 1.0


class EngineClient:
    def __init__(self, sock_path: Path, token_path: Path, timeout_s: float = 5.0) -> None:
        self.sock_path, self.token_path, self.timeout_s = sock_path, token_path, timeout_s
        self._token: str | None = None
        self._ready = False
        self.engine_pid: int | None = None
        self._stop = threading.Event()
        self._pinger: threading.Thread | None = None

    def start(self) -> None:
        self._ping()
        self._pinger = threading.Thread(target=self._ping_loop, name="engine-ping", daemon=True)
        self._pinger.start()

    def close(self) -> None:
        self._stop.set()
        if self._pinger is not None:
            self._pinger.join(timeout=2 * self.timeout_s)

    def _ping_loop(self) -> None:
        while not self._stop.wait(PING_S):
            self._ping()

    def ping(self) -> dict[str, Any]:
        """{"started": bool, "pid": int} from the engine, or EngineUnavailable."""
        answer = self._call("ping", {})
        if not isinstance(answer, dict):
            raise EngineUnavailable("bad ping answer")
        return answer

    def _ping(self) -> None:
        try:
            answer = self.ping()
        except EngineUnavailable:
            self._ready = False
            return
        self._ready = bool(answer.get("started"))
        self.engine_pid = answer.get("pid")

    def _call(self, op: str, args: dict[str, Any], timeout_s: float | None = None) -> Any:
        for attempt in (1, 2):
            if self._token is None:
                try:
                    self._token = wire.read_token(self.token_path)
                except OSError:
                    raise EngineUnavailable("no engine running (no token)") from None
            answer = self._exchange({"token": self._token, "op": op, "args": args}, timeout_s)
            if answer.get("ok") is True:
                return answer.get("result")
            if answer.get("error") == "auth" and attempt == 1:
                self._token = None  # the engine restarted with a fresh token: read it again
                continue
            message = str(answer.get("message", ""))
            if answer.get("error") == "value":
                raise ValueError(message)
            raise EngineUnavailable(f"{answer.get('error')}: {message}")
        raise EngineUnavailable("refused")  # pragma: no cover - the loop returns or raises

    def _exchange(self, request: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout_s or self.timeout_s)
        try:
            sock.connect(str(self.sock_path))
            sock.sendall(wire.encode(request))
            answer = wire.recv_frame(sock)
        except (OSError, wire.FrameError) as exc:
            raise EngineUnavailable(f"{type(exc).__name__}: {exc}") from None
        finally:
            sock.close()
        if not isinstance(answer, dict):
            raise EngineUnavailable("answer is not an object")
        return answer

    # -- the Engine interface ------------------------------------------------------------------

    def ready(self) -> bool:
        return self._ready

    def status(self) -> dict[str, Any]:
        found: dict[str, Any] = self._call("status", {})
        return found

    def airing_states(self) -> AiringStates:
        found = self._call("airing_states", {})
        return AiringStates(frozenset(found["on_air"]), frozenset(found["waiting"]))

    def kick(self) -> None:
        try:
            self._call("kick", {})
        except EngineUnavailable as exc:  # a restarting engine reconciles when it starts
            log.warning("kick not delivered: %s", exc.why)

    def lead_s(self, zones: list[str]) -> float:
        return float(self._call("lead_s", {"zones": list(zones)}))

    def stop_air(self, reason: str) -> list[str]:
        return [str(i) for i in self._call("stop_air", {"reason": reason})]

    def stop_airing(self, airing_id: str, reason: str) -> bool:
        return bool(self._call("stop_airing", {"airing_id": airing_id, "reason": reason}))

    def push_message(self, message: ScreenText) -> ShownMessage:
        args = dataclasses.asdict(message)
        args["since"] = message.since.isoformat() if message.since else None
        m = self._call("push_message", args)
        until = datetime.fromisoformat(m["until"])
        return ShownMessage(int(m["id"]), m["text"], tuple(m["displays"]), until, m["by"])

    def withdraw(self, key: str) -> int:
        return int(self._call("withdraw", {"key": key}))

    def metrics_text(self) -> bytes:
        return str(self._call("metrics", {})).encode()
