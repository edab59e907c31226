"""The daemon's one MQTT connection (paho, own thread), shared by every MQTT device, for asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from drivers.settings.links import MqttConfig

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]
ConnectionListener = Callable[[bool], None]

STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"
_STOP_FLUSH_S = 2.0


class MqttUnavailable(Exception):
    """A publish refused because the broker is not reachable right now (nothing was queued)."""


@dataclass(frozen=True)
class MqttHealth:
    connected: bool
    last_error: str | None
    connects: int  # successful connections since start (1 + reconnects)
    dropped: int  # unacknowledged messages discarded on reconnect instead of being replayed


class MqttConnection:
    """One paho client on its own network thread; handlers and listeners run on the asyncio loop.

    Safety rule (DESIGN.md §2.3): a message that could not be delivered is never sent later.
    `publish` refuses while disconnected, and on every (re)connect the messages paho would
    replay are dropped before anything else happens.
    """

    def __init__(self, cfg: MqttConfig, *, status_topic: str) -> None:
        self._cfg = cfg
        self._status_topic = status_topic
        self._client_id = cfg.client_id or f"broadcastctl-{os.getpid()}"
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()  # guards _handlers and _connected across the two threads
        self._handlers: dict[str, list[Handler]] = {}
        self._listeners: list[ConnectionListener] = []
        self._connected = False
        self._last_error: str | None = None
        self._connects = 0
        self._dropped = 0

    @property
    def status_topic(self) -> str:
        return self._status_topic

    @property
    def is_connected(self) -> bool:
        client = self._client
        return self._connected and client is not None and client.is_connected()

    def health(self) -> MqttHealth:
        return MqttHealth(self.is_connected, self._last_error, self._connects, self._dropped)

    def on_connection_change(self, listener: ConnectionListener) -> Callable[[], None]:
        """Call `listener(connected)` on the loop at each connect/disconnect; returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def start(self) -> None:
        """Begin connecting in the background; returns at once even when the broker is down."""
        if self._client is not None:
            return
        self._loop = asyncio.get_running_loop()
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        if self._cfg.username is not None:
            client.username_pw_set(self._cfg.username, self._cfg.password)
        client.will_set(self._status_topic, STATUS_OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(1, max(1, math.ceil(self._cfg.reconnect_max_s)))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self._cfg.host, self._cfg.port, keepalive=self._cfg.keepalive_s)
        client.loop_start()
        log.info("MQTT: connecting to %s:%s as %s", self._cfg.host, self._cfg.port, self._client_id)

    async def wait_connected(self, timeout: float) -> bool:
        """True once connected, False if `timeout` seconds pass first."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.is_connected:
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def stop(self) -> None:
        """Say "offline" on the status topic, then disconnect cleanly and end the thread."""
        client, self._client = self._client, None
        if client is None:
            return
        if self._connected and client.is_connected():
            info = client.publish(self._status_topic, STATUS_OFFLINE, qos=1, retain=True)
            try:
                await asyncio.to_thread(info.wait_for_publish, _STOP_FLUSH_S)
            except (RuntimeError, ValueError) as exc:
                log.warning("MQTT: offline status not confirmed: %s", exc)
        with self._lock:
            was_connected, self._connected = self._connected, False
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)
        log.info("MQTT: disconnected")
        if was_connected:
            self._notify(False)

    def subscribe(self, topic_filter: str, handler: Handler) -> Callable[[], None]:
        """Call `handler(topic, payload)` on the loop for matches, across reconnects; → remover."""
        with self._lock:
            self._handlers.setdefault(topic_filter, []).append(handler)
            connected = self._connected
        client = self._client
        if connected and client is not None:
            client.subscribe(topic_filter, qos=1)
        return lambda: self._unsubscribe(topic_filter, handler)

    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False) -> None:
        """Send now or raise MqttUnavailable; never queued for a later connection."""
        client = self._client
        if client is None or not self.is_connected:
            raise MqttUnavailable(
                "MQTT 服务器不可达，命令未发送 / "
                f"MQTT broker unreachable, command not sent ({topic})"
            )
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            # paho keeps the message to replay it; _on_connect drops it before it can be.
            raise MqttUnavailable(
                "MQTT 发送失败，命令未发送 / "
                f"MQTT publish failed, command not sent ({topic}: {paho.error_string(info.rc)})"
            )

    def _unsubscribe(self, topic_filter: str, handler: Handler) -> None:
        with self._lock:
            handlers = self._handlers.get(topic_filter, [])
            if handler in handlers:
                handlers.remove(handler)
            last = not handlers and self._handlers.pop(topic_filter, None) is not None
            connected = self._connected
        client = self._client
        if last and connected and client is not None:
            client.unsubscribe(topic_filter)

    # --- paho network thread -------------------------------------------------------------------

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: paho.ConnectFlags, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            self._last_error = f"connect refused: {reason}"
            log.warning("MQTT: broker refused the connection: %s", reason)
            return
        # First of all: what paho would replay now was meant for an earlier moment. Drop it.
        stale = client.drop_out_messages()
        _no_delay(client)
        for msg in stale:
            log.warning(
                "MQTT: dropped undelivered message to %s (%r), not replayed after reconnect",
                msg.topic,
                msg.payload[:100],
            )
        with self._lock:
            filters = list(self._handlers)
            self._connected = True
            self._connects += 1
            self._dropped += len(stale)
        if filters:
            client.subscribe([(f, 1) for f in filters])
        client.publish(self._status_topic, STATUS_ONLINE, qos=1, retain=True)
        log.info("MQTT: connected to %s:%s", self._cfg.host, self._cfg.port)
        self._to_loop(self._notify, True)

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: paho.DisconnectFlags, reason: ReasonCode, _p: Any
    ) -> None:
        with self._lock:
            was_connected, self._connected = self._connected, False
        if reason.is_failure:
            self._last_error = f"disconnected: {reason}"
            log.warning("MQTT: connection lost (%s); reconnecting in the background", reason)
        if was_connected:
            self._to_loop(self._notify, False)

    def _on_connect_fail(self, _c: paho.Client, _u: Any) -> None:
        if self._last_error != "broker unreachable":
            log.warning("MQTT: broker %s:%s unreachable", self._cfg.host, self._cfg.port)
        self._last_error = "broker unreachable"

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        self._to_loop(self._dispatch, msg.topic, bytes(msg.payload))

    def _to_loop(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between check and call
            loop.call_soon_threadsafe(func, *args)

    # --- asyncio loop --------------------------------------------------------------------------

    def _dispatch(self, topic: str, payload: bytes) -> None:
        with self._lock:
            targets = [
                h
                for f, hs in self._handlers.items()
                if paho.topic_matches_sub(f, topic)
                for h in hs
            ]
        for handler in targets:
            try:
                handler(topic, payload)
            except Exception:
                log.exception("MQTT: handler for %s failed", topic)

    def _notify(self, connected: bool) -> None:
        for listener in list(self._listeners):
            try:
                listener(connected)
            except Exception:
                log.exception("MQTT: connection listener failed")


def _no_delay(client: paho.Client) -> None:
    """Relay commands go out in pairs (PulseTime, then POWER): without TCP_NODELAY, Nagle holds
    the second until the broker's delayed ACK, about 40 ms later (measured in bench/)."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
