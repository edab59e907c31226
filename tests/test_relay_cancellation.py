"""A switch() cancelled in the very loop step its confirmation arrives must still be cancelled.

On Python 3.11 `asyncio.wait_for` returns the result and swallows such an outer cancellation
(CPython gh-86296, fixed in 3.12): a cancelled airing would carry on as if nothing happened. The
drivers use `asyncio.timeout` instead; these tests resolve the reply, then cancel, before yielding.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable

import pytest

from drivers.relays.shelly import ShellyRelay
from drivers.relays.tasmota import TasmotaRelay
from drivers.settings.devices import ShellyRelayConfig, TasmotaRelayConfig

Handler = Callable[[str, bytes], None]


class LoopbackMqtt:
    """Just enough of MqttConnection: records publishes; the test plays the device."""

    is_connected = True

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        return lambda: None

    def on_connection_change(self, listener: Callable[[bool], None]) -> Callable[[], None]:
        return lambda: None

    def publish(self, topic: str, payload: str, qos: int = 1, retain: bool = False) -> None:
        self.published.append((topic, payload))


async def sent(mqtt: LoopbackMqtt, count: int) -> None:
    while len(mqtt.published) < count:
        await asyncio.sleep(0)


def test_tasmota_switch_cancelled_as_the_reply_arrives_is_cancelled() -> None:
    async def scenario() -> None:
        mqtt = LoopbackMqtt()
        cfg = TasmotaRelayConfig(id="east", type="tasmota", topic="t", confirm_timeout_s=5)
        relay = TasmotaRelay(cfg, mqtt)  # type: ignore[arg-type]
        task = asyncio.create_task(relay.switch(1, False))
        await sent(mqtt, 1)
        assert mqtt.published == [("cmnd/t/POWER1", "OFF")]
        relay._on_message("stat/t/RESULT", b'{"POWER1":"OFF"}')  # the future is resolved ...
        task.cancel()  # ... and the caller cancelled, in the same loop step
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_shelly_switch_cancelled_as_the_reply_arrives_is_cancelled() -> None:
    async def scenario() -> None:
        mqtt = LoopbackMqtt()
        cfg = ShellyRelayConfig(id="east", type="shelly", topic_prefix="p", confirm_timeout_s=5)
        relay = ShellyRelay(cfg, mqtt, src="me")  # type: ignore[arg-type]
        task = asyncio.create_task(relay.switch(1, False))
        await sent(mqtt, 1)
        rid = json.loads(mqtt.published[0][1])["id"]
        reply = {"id": rid, "src": "p", "dst": "me", "result": {"was_on": True}}
        relay._on_message("me/rpc", json.dumps(reply).encode())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(mqtt.published) == 1  # no GetStatus after the cancellation

    asyncio.run(scenario())


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="gh-86296 is fixed in 3.12")
def test_wait_for_on_3_11_swallows_that_cancellation() -> None:
    """Why the drivers do not use wait_for: the same race, the old way, returns the result."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        task = asyncio.create_task(asyncio.wait_for(future, 5))
        await asyncio.sleep(0)
        future.set_result("confirmed")
        task.cancel()
        assert await task == "confirmed"  # cancelled, yet it returns

    asyncio.run(scenario())
