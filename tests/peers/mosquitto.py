"""A real Mosquitto broker on a free loopback port, with stop/restart on the same port."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from drivers.settings.links import MqttConfig
from drivers.transports.mqtt import MqttConnection

MOSQUITTO = os.environ.get("MOSQUITTO", "/usr/sbin/mosquitto")
_START_TIMEOUT_S = 10.0


class MosquittoMissing(RuntimeError):
    """The broker binary is not installed."""


_names = itertools.count(1)


def unique_name(stem: str) -> str:
    """A topic or client id no other test of this process uses (the session broker is shared)."""
    return f"{stem}-{os.getpid()}-{next(_names)}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mosquitto:
    """One broker process. `kill()` is an unclean death, `freeze()` a hung broker."""

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, *, verbose: bool = False) -> None:
        path = MOSQUITTO if os.path.exists(MOSQUITTO) else shutil.which("mosquitto")
        if path is None:
            raise MosquittoMissing(
                f"mosquitto not found at {MOSQUITTO} or on PATH: install Debian's broker "
                "(apt-get install mosquitto) — the MQTT tests need a real one"
            )
        self._binary = path
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="mosquitto-test-"))
        self._conf = self._dir / "mosquitto.conf"
        self._log = self._dir / "mosquitto.log"
        self._conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            # As README recommends for stations: Mosquitto's default (Nagle on) holds each
            # relay confirmation ~45 ms behind the PUBACK it just sent (measured here).
            "set_tcp_nodelay true\n"
            f"log_dest file {self._log}\n"
            + (
                "log_type all\n"
                if verbose
                else "log_type error\nlog_type warning\nlog_type notice\n"
            )
        )
        # Run as root, the broker drops to the `mosquitto` user: let it reach and write its log.
        self._dir.chmod(0o755)
        self._log.touch(mode=0o666)
        self._log.chmod(0o666)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        deadline = time.monotonic() + _START_TIMEOUT_S
        with (self._dir / "stderr.txt").open("ab") as err:
            self._proc = subprocess.Popen(
                [self._binary, "-c", str(self._conf)], stdout=subprocess.DEVNULL, stderr=err
            )
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited at start ({self._proc.returncode}): {self.log()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not accept connections on {self.port}: {self.log()}")

    def stop(self) -> None:
        """Terminate the broker (it closes its client sockets)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: sockets are reset by the kernel, nothing is sent."""
        self._end(signal.SIGKILL)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing is read or acknowledged."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def log(self) -> str:
        parts = [(self._dir / name) for name in ("stderr.txt", "mosquitto.log")]
        return "".join(p.read_text(errors="replace") for p in parts if p.exists())[-2000:]

    def mark(self) -> int:
        """A position in the log; `received_publishes(since=mark)` reads only what came after."""
        try:
            return self._log.stat().st_size
        except OSError:
            return 0

    def received_publishes(self, client_id: str, since: int = 0) -> list[tuple[str, bool]]:
        """(topic, retain) of each PUBLISH the broker received from `client_id` (needs verbose).

        The broker's own log is a race-free witness: it sees a message even when no subscriber
        happens to be connected at that moment.
        """
        with self._log.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        pattern = re.compile(
            rf"Received PUBLISH from {re.escape(client_id)} \(d\d, q\d, r(\d), m\d+, '([^']*)'"
        )
        return [(topic, retain == "1") for retain, topic in pattern.findall(text)]

    def _end(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        if sig != signal.SIGKILL:
            proc.send_signal(signal.SIGCONT)  # a frozen broker cannot act on SIGTERM
        proc.send_signal(sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Subscriber:
    """An independent paho client recording (topic, payload, retain) of what it receives."""

    def __init__(self, broker: Mosquitto, topic_filter: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=unique_name("subscriber"))
        self.client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, bytes(m.payload), m.retain)
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.connect(broker.host, broker.port, keepalive=5)
        self.client.loop_start()
        if not self._ready.wait(5):
            self.close()
            raise TimeoutError(f"subscriber to {topic_filter} did not subscribe")

    def payloads(self) -> list[bytes]:
        return [payload for _t, payload, _r in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def mqtt_config(broker: Mosquitto, client_id: str) -> MqttConfig:
    """The product's MQTT config for this broker: fast reconnects, short keepalive."""
    return MqttConfig(
        host=broker.host, port=broker.port, client_id=client_id, keepalive_s=5, reconnect_max_s=1
    )


@asynccontextmanager
async def running_mqtt(
    broker: Mosquitto, client_id: str, *, wait: bool = True
) -> AsyncIterator[MqttConnection]:
    """A started MqttConnection (connected, unless `wait=False`), stopped on the way out."""
    conn = MqttConnection(
        mqtt_config(broker, client_id), status_topic=f"broadcastctl/{client_id}/status"
    )
    await conn.start()
    try:
        if wait and not await conn.wait_connected(5.0):
            raise TimeoutError(f"MqttConnection did not connect to {broker.port}: {conn.health()}")
        yield conn
    finally:
        await conn.stop()
