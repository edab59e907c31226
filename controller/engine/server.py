"""The engine's end of the channel: answers the API process on the engine's event loop.

A request is `{"token", "op", "args"}`; the answer `{"ok": true, "result"}` or `{"ok": false,
"error": kind, "message"}`. Commands that change the air run on the loop (they are short and
never touch the disk but through the as-run journal's queue); the status, which reads the
database, runs on a small thread pool of its own. A peer of another uid, a wrong token or a
bad frame is refused and its connection closed; at most `MAX_CLIENTS` are served at once.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from controller.engine import wire
from controller.engine.port import Engine, EngineUnavailable, ScreenText

log = logging.getLogger(__name__)

MAX_CLIENTS = 32
IDLE_S = 30.0  # a connection silent this long is closed
COLORS = ("red", "green", "yellow")


class BadRequest(ValueError):
    pass


class EngineServer:
    def __init__(self, engine: Engine, sock_path: Path, token_path: Path) -> None:
        self.engine = engine
        self.sock_path, self.token_path = sock_path, token_path
        self._token = ""
        self._server: asyncio.AbstractServer | None = None
        self._slots = asyncio.Semaphore(MAX_CLIENTS)
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="engine-read")
        self._serving: set[asyncio.Task[Any]] = set()
        self._ops: dict[str, Callable[[dict[str, Any]], Any]] = {
            "ping": lambda a: {"started": engine.ready(), "pid": os.getpid()},
            "airing_states": self._airing_states,
            "kick": lambda a: engine.kick(),
            "lead_s": lambda a: engine.lead_s(_strings(a, "zones")),
            "stop_air": lambda a: engine.stop_air(_text(a, "reason")),
            "stop_airing": lambda a: engine.stop_airing(_text(a, "airing_id"), _text(a, "reason")),
            "push_message": self._push,
            "withdraw": lambda a: engine.withdraw(_text(a, "key")),
            "metrics": lambda a: engine.metrics_text().decode(),
        }

    async def start(self) -> None:
        self.sock_path.unlink(missing_ok=True)  # a crashed engine's; the lock says it is dead
        self._token = wire.write_token(self.token_path)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.sock_path))
        self.sock_path.chmod(0o600)

    async def stop(self) -> None:
        self.sock_path.unlink(missing_ok=True)  # no new peer can connect from here on
        if self._server is not None:
            # Python 3.11 leaks a connection accepted in the same turn as the close (its
            # transport is refused by the closed server): let pending accepts finish first.
            for _ in range(3):
                await asyncio.sleep(0)
            self._server.close()
            self._server = None
        await asyncio.sleep(0)  # a connection accepted just before the close starts its task
        for task in list(self._serving):  # 3.11 leaves open connections to themselves
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)
        await asyncio.sleep(0)  # the closed transports let go of their sockets
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        try:
            sock = writer.get_extra_info("socket")
            if sock is None or wire.peer_uid(sock) != os.getuid():
                log.warning("engine channel: a peer of another user was refused")
                return
            if self._slots.locked():
                await _send(writer, _error("busy", "too many connections"))
                return
            async with self._slots:
                while await self._one(reader, writer):
                    pass
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, wire.FrameError):
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection should close."""
        try:
            async with asyncio.timeout(IDLE_S):
                header = await reader.readexactly(wire.HEADER.size)
        except asyncio.IncompleteReadError:
            return False
        length = wire.frame_length(header)
        async with asyncio.timeout(IDLE_S):
            request = wire.decode(await reader.readexactly(length))
        if not isinstance(request, dict) or not isinstance(request.get("token"), str):
            await _send(writer, _error("auth", "token required"))
            return False
        if not hmac.compare_digest(request["token"].encode(), self._token.encode()):
            await _send(writer, _error("auth", "wrong token"))
            return False
        await _send(writer, await self._answer(request.get("op"), request.get("args", {})))
        return True

    async def _answer(self, op: object, args: object) -> dict[str, Any]:
        if not isinstance(args, dict):
            return _error("bad_request", "args must be an object")
        try:
            if op == "status":  # reads the database: never on the loop
                loop = asyncio.get_running_loop()
                return {
                    "ok": True,
                    "result": await loop.run_in_executor(self._pool, self.engine.status),
                }
            handler = self._ops.get(op) if isinstance(op, str) else None
            if handler is None:
                return _error("bad_request", f"unknown op {op!r}")
            return {"ok": True, "result": handler(args)}
        except BadRequest as exc:
            return _error("bad_request", str(exc))
        except EngineUnavailable as exc:
            return _error("unavailable", exc.why)
        except ValueError as exc:  # the operator's words (a screen cannot show a character)
            return _error("value", str(exc))
        except Exception as exc:  # a bug must not take the engine down with it
            log.exception("engine channel: %s failed", op)
            return _error("internal", f"{type(exc).__name__}: {exc}")

    def _airing_states(self, args: dict[str, Any]) -> dict[str, list[str]]:
        states = self.engine.airing_states()
        return {"on_air": sorted(states.on_air), "waiting": sorted(states.waiting)}

    def _push(self, a: dict[str, Any]) -> dict[str, Any]:
        displays = a.get("displays")
        color, since = a.get("color", "red"), a.get("since")
        minutes, priority, key = a.get("minutes"), a.get("priority", 80), a.get("key")
        if displays is not None:
            displays = _strings(a, "displays")
        if color not in COLORS or not isinstance(minutes, int | float) or isinstance(minutes, bool):
            raise BadRequest("color or minutes")
        if not isinstance(priority, int) or not (key is None or isinstance(key, str)):
            raise BadRequest("priority or key")
        shown = self.engine.push_message(ScreenText(
            _text(a, "text"), displays, float(minutes), _text(a, "by"), color, priority, key,
            datetime.fromisoformat(since) if isinstance(since, str) else None,
        ))  # fmt: skip
        return {
            "id": shown.id, "text": shown.text, "displays": list(shown.displays),
            "until": shown.until.isoformat(), "by": shown.by,
        }  # fmt: skip


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be text")
    return value


def _strings(args: dict[str, Any], name: str) -> list[str]:
    value = args.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{name} must be a list of text")
    return value


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": kind, "message": message}


async def _send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    try:
        frame = wire.encode(message)
    except (TypeError, ValueError) as exc:  # not JSON (NaN) or too long: say so, never hang
        frame = wire.encode(_error("internal", f"answer not sendable: {exc}"))
    writer.write(frame)
    async with asyncio.timeout(IDLE_S):
        await writer.drain()
