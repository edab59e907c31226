"""What every MQTT device double does alike: a paho client of its own (MQTT 5) with a Last
Will, an announcement once its command topic is subscribed, dropping off the network as a
device does (the broker then publishes the will), and publishing its answers (QoS 1, never
retained). Each vendor's double says only its topics and what it does with a message."""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode


class MqttDevice:
    vendor = "MQTT"  # for the error a device that never connects raises

    def __init__(self, host: str, port: int, name: str) -> None:
        self.host, self.port, self.name = host, port, name
        self._lock = threading.RLock()
        self._client: paho.Client | None = None
        self._online = threading.Event()

    # --- what each vendor's double says -------------------------------------------------------

    def _will(self) -> tuple[str, str]:
        """(topic, payload) of the retained Last Will."""
        raise NotImplementedError

    def _birth(self) -> tuple[str, str]:
        """(topic, payload) said, retained, once subscribed."""
        raise NotImplementedError

    def _commands(self) -> str:
        """The topic (filter) the device listens on."""
        raise NotImplementedError

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        raise NotImplementedError

    def _cancel_timers(self) -> None:
        """Called under the lock when the double stops: no device timer may fire after it."""

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> None:
        """Connect with the Last Will, subscribe, then announce (see `_birth`)."""
        self._online.clear()
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"double-{self.name}", protocol=paho.MQTTv5
        )
        client.will_set(*self._will(), qos=1, retain=True)
        client.reconnect_delay_set(1, 1)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = lambda *_: self._online.clear()
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self.host, self.port, keepalive=5)
        client.loop_start()
        if not self._online.wait(timeout):
            raise TimeoutError(f"{self.vendor} double {self.name} did not connect to {self.port}")

    def go_offline(self) -> None:
        """Drop off the network: the broker publishes our Last Will."""
        self._disconnect(ReasonCode(PacketTypes.DISCONNECT, identifier=4))  # "with will"

    def stop(self) -> None:
        self._disconnect(ReasonCode(PacketTypes.DISCONNECT, identifier=0))
        with self._lock:
            self._cancel_timers()

    def wait_online(self, timeout: float) -> bool:
        return self._online.wait(timeout)

    def _disconnect(self, reason: ReasonCode) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self._online.clear()
        client.disconnect(reasoncode=reason)
        client.loop_stop()

    # --- paho thread ---------------------------------------------------------------------------

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if not reason.is_failure:
            client.subscribe(self._commands(), qos=1)

    def _on_subscribe(self, client: paho.Client, _u: Any, _m: int, _r: Any, _p: Any) -> None:
        client.publish(*self._birth(), qos=1, retain=True)
        self._online.set()

    def send_raw(self, topic: str, payload: str | bytes) -> None:
        """Publish anything as this device would (a broken or hostile payload)."""
        client = self._client
        if client is not None:
            client.publish(topic, payload, qos=1, retain=False)

    def _publish(self, topic: str, payload: str) -> None:
        client = self._client
        if client is not None:
            client.publish(topic, payload, qos=1, retain=False)
