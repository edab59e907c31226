"""One contract for every display driver: the fake, Onbon against its controller double on
loopback TCP, and mqtt-text against a real Mosquitto with an independent subscriber."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import pytest
from doubles.onbon_controller import OnbonControllerDouble
from peers.mosquitto import Mosquitto, Subscriber, running_mqtt, unique_name
from waiting import until

from drivers.displays.base import Display
from drivers.displays.fake import FakeDisplay
from drivers.displays.registry import FACTORIES, DisplayConfigError, build_display
from drivers.settings.devices import (
    FakeDisplayConfig,
    MqttTextDisplayConfig,
    OnbonDisplayConfig,
)


@dataclass
class Rig:
    """A started display, and what its device side saw (the card, the subscriber, the fake)."""

    display: Display
    device_text: Callable[[], str | None]  # None: nothing shown, or cleared
    device_powered: Callable[[], bool | None]
    received: Callable[[], int]  # commands the device side got so far


DisplayRig = Callable[[], AbstractAsyncContextManager[Rig]]


@pytest.fixture(params=["fake", "onbon", "mqtt-text"])
def rig(request: pytest.FixtureRequest, mosquitto: Mosquitto) -> DisplayRig:
    @asynccontextmanager
    async def fake() -> AsyncIterator[Rig]:
        display = build_display(FakeDisplayConfig(id="hall", type="fake"), mqtt=None)
        assert isinstance(display, FakeDisplay)
        await display.start()
        try:
            yield Rig(
                display,
                lambda: display.showing,
                lambda: display.health().powered,
                lambda: len(display.shown),
            )
        finally:
            await display.stop()

    @asynccontextmanager
    async def onbon() -> AsyncIterator[Rig]:
        async with OnbonControllerDouble(address=3) as card:
            cfg = OnbonDisplayConfig(
                id="square",
                type="onbon-bx6k",
                host=card.host,
                port=card.port,
                address=3,
                timeout_s=2.0,
            )
            display = build_display(cfg, mqtt=None)
            await display.start()
            try:
                yield Rig(display, card.showing, lambda: card.powered, lambda: len(card.requests))
            finally:
                await display.stop()
            assert card.errors == []

    @asynccontextmanager
    async def mqtt_text() -> AsyncIterator[Rig]:
        topic = unique_name("led") + "/text"
        subscriber = Subscriber(mosquitto, topic)
        try:
            async with running_mqtt(mosquitto, unique_name("display")) as conn:
                cfg = MqttTextDisplayConfig(
                    id="gate", type="mqtt-text", topic=topic, charset="gb2312"
                )
                display = build_display(cfg, mqtt=conn)
                await display.start()
                try:
                    yield Rig(
                        display,
                        lambda: _text(subscriber),
                        lambda: _power(subscriber),
                        lambda: len(subscriber.messages),
                    )
                finally:
                    await display.stop()
        finally:
            close(subscriber)

    return {"fake": fake, "onbon": onbon, "mqtt-text": mqtt_text}[request.param]


def _last(subscriber: Subscriber, key: str) -> object:
    """The `key` of the newest message that has one (None: no such message yet)."""
    for _topic, payload, _retain in reversed(subscriber.messages):
        message = json.loads(payload)
        if key in message:
            return message[key]
    return None


def _text(subscriber: Subscriber) -> str | None:
    text = _last(subscriber, "text")
    assert text is None or isinstance(text, str)
    return text or None  # a clear is "text": ""


def _power(subscriber: Subscriber) -> bool | None:
    power = _last(subscriber, "power")
    assert power is None or isinstance(power, bool)
    return power


def close(subscriber: Subscriber) -> None:
    """Close it and unhook its callbacks. paho 2.2 closes its internal loopback socket pair
    only when the client is collected; left in a callback → subscriber → client cycle, the
    GC may finalize those sockets first, an occasional ResourceWarning at the session's end."""
    subscriber.close()
    client = subscriber.client
    client.on_connect = client.on_subscribe = client.on_message = None


def test_show_is_what_the_screen_shows(rig: DisplayRig) -> None:
    async def scenario() -> None:
        async with rig() as r:
            assert r.display.health().showing is None
            await r.display.show("谨防电信网络诈骗", color="red", hold_s=30)
            assert r.display.health().showing == "谨防电信网络诈骗"
            assert await until(lambda: r.device_text() == "谨防电信网络诈骗", 3)
            await r.display.show("陌生来电问清楚，拨打110", color="green", hold_s=30)
            health = r.display.health()
            assert health.showing == "陌生来电问清楚，拨打110"
            assert health.available is True and health.last_error is None
            assert await until(lambda: r.device_text() == "陌生来电问清楚，拨打110", 3)

    asyncio.run(scenario())


def test_clear_leaves_the_screen_empty(rig: DisplayRig) -> None:
    async def scenario() -> None:
        async with rig() as r:
            await r.display.show("不转账", hold_s=30)
            assert await until(lambda: r.device_text() == "不转账", 3)
            await r.display.clear()
            assert r.display.health().showing is None
            assert await until(lambda: r.device_text() is None, 3)

    asyncio.run(scenario())


def test_power_off_and_on(rig: DisplayRig) -> None:
    async def scenario() -> None:
        async with rig() as r:
            await r.display.power(False)
            assert r.display.health().powered is False
            assert await until(lambda: r.device_powered() is False, 3)
            await r.display.power(True)
            assert r.display.health().powered is True
            assert await until(lambda: r.device_powered() is True, 3)

    asyncio.run(scenario())


def test_ping_answers(rig: DisplayRig) -> None:
    async def scenario() -> None:
        async with rig() as r:
            assert await r.display.ping() is True
            assert r.display.health().available is True

    asyncio.run(scenario())


def test_a_text_not_refreshed_within_its_hold_time_goes(rig: DisplayRig) -> None:
    async def scenario() -> None:
        async with rig() as r:
            await r.display.show("天上不会掉馅饼", hold_s=0.6)
            assert r.display.health().showing == "天上不会掉馅饼"
            assert await until(lambda: r.display.health().showing is None, 3.0)

    asyncio.run(scenario())


def test_a_character_outside_gb2312_is_refused_before_anything_is_sent(rig: DisplayRig) -> None:
    async def scenario() -> None:
        async with rig() as r:
            assert r.display.charset == "gb2312"
            await r.display.show("防骗", hold_s=30)
            assert await until(lambda: r.received() >= 1, 3)
            # All the show sent is in once the device shows its text (one command per show).
            assert await until(lambda: r.device_text() == "防骗", 3)
            before = r.received()
            with pytest.raises(ValueError, match="GB2312") as err:
                await r.display.show("转账请三思🙏", hold_s=30)
            assert "🙏" in str(err.value) and "U+1F64F" in str(err.value)
            await asyncio.sleep(0.1)  # an absence: nothing the refused show sent may arrive
            assert r.received() == before
            assert r.display.health().showing == "防骗"

    asyncio.run(scenario())


def test_every_display_type_of_the_config_has_a_driver() -> None:
    assert sorted(FACTORIES) == ["fake", "mqtt-text", "onbon-bx5k", "onbon-bx6k"]


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (MqttTextDisplayConfig(id="gate", type="mqtt-text", topic="led/gate"), "mqtt"),
        (OnbonDisplayConfig(id="square", type="onbon-bx5k"), "host"),
        (
            OnbonDisplayConfig(id="square", type="onbon-bx5k", host="10.0.0.5", serial_port="x"),
            "not both",
        ),
        (OnbonDisplayConfig(id="square", type="onbon-bx6k", host="10.0.0.5", font_size=20), "20"),
    ],
    ids=["mqtt-text without mqtt", "onbon without line", "onbon with two lines", "font size"],
)
def test_a_display_that_cannot_be_built_says_why(
    cfg: MqttTextDisplayConfig | OnbonDisplayConfig, message: str
) -> None:
    with pytest.raises(DisplayConfigError, match=message) as err:
        build_display(cfg, mqtt=None)
    assert str(err.value).startswith("屏幕")
