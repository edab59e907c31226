"""A Tasmota device double, written from Tasmota's MQTT/Commands docs, on its own paho client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

_ON = {"ON", "1", "TRUE"}
_OFF = {"OFF", "0", "FALSE"}
_TOGGLE = {"TOGGLE", "2"}


def _seconds(pulsetime: int) -> float:
    """Tasmota's PulseTime units, read independently of the product's codec."""
    return pulsetime / 10 if pulsetime <= 111 else float(pulsetime - 100)


@dataclass(frozen=True)
class ReceivedCommand:
    at: float  # time.monotonic() on arrival
    topic: str
    command: str  # as sent, e.g. "POWER1", "PulseTime1"
    payload: str
    retain: bool


class TasmotaDouble:
    """Relays, PulseTime and LWT of a Tasmota device. Thread-based: usable from any test."""

    def __init__(
        self,
        host: str,
        port: int,
        topic: str,
        *,
        channels: int = 1,
        full_topic: str = "%prefix%/%topic%/",
        setoption26: bool = False,
    ) -> None:
        self.host, self.port, self.topic, self.channels = host, port, topic, channels
        self.full_topic = full_topic
        self.setoption26 = setoption26  # POWER1 even on a single-relay device
        self.mute = False  # receives and records, but neither switches nor answers
        self.reply_delay_s = 0.0  # switches at once, answers this much later
        self.commands: list[ReceivedCommand] = []
        self._power = dict.fromkeys(range(1, channels + 1), False)
        self._pulsetime = dict.fromkeys(range(1, channels + 1), 0)
        self._pulse_ends: dict[int, float] = {}
        self._timers: list[threading.Timer] = []
        self._lock = threading.RLock()
        self._client: paho.Client | None = None
        self._online = threading.Event()

    def topic_for(self, prefix: str, name: str) -> str:
        base = self.full_topic.replace("%prefix%", prefix).replace("%topic%", self.topic)
        return (base if base.endswith("/") else base + "/") + name

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> None:
        """Connect (Last Will `Offline`, retained) and announce `Online` once subscribed."""
        self._online.clear()
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"double-{self.topic}", protocol=paho.MQTTv5
        )
        client.will_set(self.topic_for("tele", "LWT"), "Offline", qos=1, retain=True)
        client.reconnect_delay_set(1, 1)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = lambda *_: self._online.clear()
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self.host, self.port, keepalive=5)
        client.loop_start()
        if not self._online.wait(timeout):
            raise TimeoutError(f"Tasmota double {self.topic} did not connect to {self.port}")

    def go_offline(self) -> None:
        """Drop off the network: the broker publishes our Last Will (`Offline`)."""
        self._disconnect(ReasonCode(PacketTypes.DISCONNECT, identifier=4))  # "with will"

    def stop(self) -> None:
        self._disconnect(ReasonCode(PacketTypes.DISCONNECT, identifier=0))
        with self._lock:
            for timer in self._timers:
                timer.cancel()

    def wait_online(self, timeout: float) -> bool:
        return self._online.wait(timeout)

    def _disconnect(self, reason: ReasonCode) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self._online.clear()
        client.disconnect(reasoncode=reason)
        client.loop_stop()

    # --- what tests look at -------------------------------------------------------------------

    def power(self, channel: int = 1) -> bool:
        with self._lock:
            return self._power[channel]

    def pulsetime(self, channel: int = 1) -> int:
        with self._lock:
            return self._pulsetime[channel]

    def received(
        self, command: str | None = None, payload: str | None = None
    ) -> list[ReceivedCommand]:
        """Commands seen so far, optionally only one command (case-insensitive) and payload."""
        with self._lock:
            return [
                c
                for c in self.commands
                if (command is None or c.command.upper() == command.upper())
                and (payload is None or c.payload.upper() == payload.upper())
            ]

    def press(self, channel: int = 1, *, report: bool = True) -> None:
        """A local button press: the relay toggles and (unless `report=False`) says so on stat/."""
        with self._lock:
            self._power[channel] = not self._power[channel]
            if self._power[channel]:
                self._start_pulse(channel)
            else:
                self._pulse_ends.pop(channel, None)
            if report:
                self._report_power(channel, delayed=False)

    def publish_state(self) -> None:
        """Telemetry as every TelePeriod: `tele/<t>/STATE` with the POWER fields."""
        self._publish(
            self.topic_for("tele", "STATE"),
            json.dumps({"Uptime": "0T00:01:00", **self._power_json()}),
        )

    # --- paho thread ---------------------------------------------------------------------------

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if not reason.is_failure:
            client.subscribe(self.topic_for("cmnd", "#"), qos=1)

    def _on_subscribe(self, client: paho.Client, _u: Any, _m: int, _r: Any, _p: Any) -> None:
        client.publish(self.topic_for("tele", "LWT"), "Online", qos=1, retain=True)
        self._online.set()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        command = msg.topic.rsplit("/", 1)[-1]
        payload = msg.payload.decode("utf-8", errors="replace").strip()
        with self._lock:
            self.commands.append(
                ReceivedCommand(time.monotonic(), msg.topic, command, payload, msg.retain)
            )
            if self.mute:
                return
            upper = command.upper()
            if upper.startswith("POWER"):
                self._cmd_power(self._index(upper, "POWER"), payload)
            elif upper.startswith("PULSETIME"):
                self._cmd_pulsetime(self._index(upper, "PULSETIME"), payload)
            elif upper == "STATE":
                self._reply(self.topic_for("stat", "RESULT"), json.dumps(self._power_json()))
            else:
                self._reply(self.topic_for("stat", "RESULT"), '{"Command":"Unknown"}')

    def _index(self, command: str, name: str) -> int | None:
        digits = command[len(name) :]
        if digits == "":
            return 1
        index = int(digits) if digits.isdigit() else 0
        return index if 1 <= index <= self.channels else None

    def _cmd_power(self, index: int | None, payload: str) -> None:
        if index is None:
            self._reply(self.topic_for("stat", "RESULT"), '{"Command":"Error"}')
            return
        word = payload.upper()
        if word in _ON or (word in _TOGGLE and not self._power[index]):
            self._power[index] = True
            self._start_pulse(index)  # Power ON (re)starts PulseTime
        elif word in _OFF or word in _TOGGLE:
            self._power[index] = False
            self._pulse_ends.pop(index, None)
        elif word not in ("", "?"):
            self._reply(self.topic_for("stat", "RESULT"), '{"Command":"Error"}')
            return
        self._report_power(index, delayed=True)

    def _cmd_pulsetime(self, index: int | None, payload: str) -> None:
        if index is None:
            return
        if payload not in ("", "?"):
            value = 0 if payload.upper() == "OFF" else int(payload)
            self._pulsetime[index] = min(max(value, 0), 64900)
        left = self._pulse_ends.get(index)
        remaining = 0 if left is None else max(0, round((left - time.monotonic()) * 10))
        body = {f"PulseTime{index}": {"Set": self._pulsetime[index], "Remaining": remaining}}
        self._reply(self.topic_for("stat", "RESULT"), json.dumps(body))

    def _start_pulse(self, index: int) -> None:
        seconds = _seconds(self._pulsetime[index]) if self._pulsetime[index] else 0.0
        if seconds <= 0:
            self._pulse_ends.pop(index, None)
            return
        end = time.monotonic() + seconds
        self._pulse_ends[index] = end
        self._later(seconds, lambda: self._pulse_expired(index, end))

    def _pulse_expired(self, index: int, end: float) -> None:
        with self._lock:
            if self._pulse_ends.get(index) != end:
                return  # re-armed or switched off since
            del self._pulse_ends[index]
            self._power[index] = False
            self._report_power(index, delayed=False)

    def _power_key(self, index: int) -> str:
        return "POWER" if self.channels == 1 and not self.setoption26 else f"POWER{index}"

    def _power_json(self) -> dict[str, str]:
        return {self._power_key(i): "ON" if on else "OFF" for i, on in self._power.items()}

    def _report_power(self, index: int, *, delayed: bool) -> None:
        key, state = self._power_key(index), "ON" if self._power[index] else "OFF"
        send: Callable[[str, str], None] = self._reply if delayed else self._publish
        send(self.topic_for("stat", "RESULT"), json.dumps({key: state}))
        send(self.topic_for("stat", key), state)

    def _reply(self, topic: str, payload: str) -> None:
        if self.reply_delay_s > 0:
            self._later(self.reply_delay_s, lambda: self._publish(topic, payload))
        else:
            self._publish(topic, payload)

    def _later(self, seconds: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _publish(self, topic: str, payload: str) -> None:
        client = self._client
        if client is not None:
            client.publish(topic, payload, qos=1, retain=False)
