"""A Tasmota device double, written from Tasmota's MQTT/Commands docs, on its own paho client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho

from doubles.mqtt_device import MqttDevice
from doubles.tasmota_firmware import Firmware, Out


@dataclass(frozen=True)
class ReceivedCommand:
    at: float  # time.monotonic() on arrival
    topic: str
    command: str  # as sent, e.g. "POWER1", "PulseTime1"
    payload: str
    retain: bool


class TasmotaDouble(MqttDevice):
    """Relays, PulseTime, settings and LWT of a Tasmota device. Thread-based: usable anywhere.

    The device's behaviour is `self.firmware` (doubles/tasmota_firmware.py): set its settings
    (power_on_state, pulse_timers, setoption4, interlock, pulsetime_ignored...) before a test.
    """

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
        super().__init__(host, port, topic)
        self.topic, self.channels = topic, channels
        self.full_topic = full_topic
        self.firmware = Firmware(channels, self._later, setoption26=setoption26)
        self.mute = False  # receives and records, but neither switches nor answers
        self.reply_delay_s = 0.0  # switches at once, answers this much later
        self.commands: list[ReceivedCommand] = []
        self._timers: list[threading.Timer] = []

    def topic_for(self, prefix: str, name: str) -> str:
        base = self.full_topic.replace("%prefix%", prefix).replace("%topic%", self.topic)
        return (base if base.endswith("/") else base + "/") + name

    # --- its topics ----------------------------------------------------------------------------

    vendor = "Tasmota"

    def _will(self) -> tuple[str, str]:
        return self.topic_for("tele", "LWT"), "Offline"

    def _birth(self) -> tuple[str, str]:
        return self.topic_for("tele", "LWT"), "Online"

    def _commands(self) -> str:
        return self.topic_for("cmnd", "#")

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()

    # --- what tests look at -------------------------------------------------------------------

    @property
    def load_w(self) -> dict[int, float]:
        """Watts relay n's load draws while ON (the firmware's energy monitoring reads them)."""
        return self.firmware.load_w

    @property
    def dead_loads(self) -> set[int]:
        """Relays whose amplifier is dead: ON, drawing nothing."""
        return self.firmware.dead_loads

    def power(self, channel: int = 1) -> bool:
        with self._lock:
            return self.firmware.power[channel]

    def pulsetime(self, channel: int = 1) -> int:
        """The PulseTime setting that runs `channel` (8-timer builds: timer n runs n+8 too)."""
        with self._lock:
            return self.firmware.pulsetime[self.firmware.timer_of(channel)]

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
            out = self.firmware.switch(channel, not self.firmware.power[channel], reply=False)
            if report:
                self._send(out)

    def publish_state(self) -> None:
        """Telemetry as every TelePeriod: `tele/<t>/STATE` with the POWER fields."""
        with self._lock:
            body = {"Uptime": "0T00:01:00", **self.firmware.power_json()}
        self._publish(self.topic_for("tele", "STATE"), json.dumps(body))

    def publish_sensor(self) -> None:
        """Telemetry as every TelePeriod: `tele/<t>/SENSOR` (ENERGY with energy monitoring)."""
        with self._lock:
            body = self.firmware.sensors()
        self._publish(self.topic_for("tele", "SENSOR"), json.dumps(body))

    # --- paho thread ---------------------------------------------------------------------------

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        command = msg.topic.rsplit("/", 1)[-1]
        payload = msg.payload.decode("utf-8", errors="replace").strip()
        with self._lock:
            self.commands.append(
                ReceivedCommand(time.monotonic(), msg.topic, command, payload, msg.retain)
            )
            if not self.mute:
                self._send(self.firmware.command(command, payload))

    def _send(self, out: list[Out]) -> None:
        for message in out:
            topic = self.topic_for(message.prefix, message.name)
            if message.reply and self.reply_delay_s > 0:
                self._later(self.reply_delay_s, _deferred(self._publish, topic, message.payload))
            else:
                self._publish(topic, message.payload)

    def _later(self, seconds: float, action: Callable[[], list[Out]]) -> None:
        """Run `action` (a timer ending, a late reply) then, and publish what it returns."""

        def run() -> None:
            with self._lock:
                self._send(action())

        timer = threading.Timer(seconds, run)
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()


def _deferred(
    publish: Callable[[str, str], None], topic: str, payload: str
) -> Callable[[], list[Out]]:
    def send() -> list[Out]:
        publish(topic, payload)
        return []

    return send
