"""The Onbon driver against its controller double: what the card is sent, and what goes wrong
(NACK, silence, dropped connections, a card that restarts, garbage on the line)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from doubles.onbon_controller import OnbonControllerDouble
from waiting import until

from drivers.displays.base import DisplayError
from drivers.displays.onbon import OnbonDisplay
from drivers.displays.registry import build_display
from drivers.protocols import onbon_cmd as cmd
from drivers.protocols.onbon import NEED_DATA, Ack, DecoderEvent, Nack, OnbonDecoder, StatusReport
from drivers.protocols.onbon_cmd import Effect, RunMode
from drivers.protocols.onbon_frame import Header, encode_frame
from drivers.settings.devices import OnbonDisplayConfig
from drivers.transports.tcp import TcpLine


@asynccontextmanager
async def onbon(card: OnbonControllerDouble, **cfg: Any) -> AsyncIterator[OnbonDisplay]:
    settings: dict[str, Any] = {
        "id": "square",
        "type": "onbon-bx6k",
        "host": card.host,
        "port": card.port,
        "address": card.address,
        "timeout_s": 0.3,
    }
    display = build_display(OnbonDisplayConfig(**(settings | cfg)), mqtt=None)
    assert isinstance(display, OnbonDisplay)
    await display.start()
    try:
        yield display
    finally:
        await display.stop()


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_a_slogan_is_a_self_expiring_area_over_the_whole_screen() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card, color="green") as screen:
            await screen.show("六个一律", hold_s=12.5)
            area = card.shown[-1]
            assert (area.text, area.color, area.font_px) == ("六个一律", "green", 16)
            assert (area.run_mode, area.timeout_s) == (RunMode.EXPIRE, 13)  # ≥ hold_s
            assert (area.box, area.area_id, area.effect) == ((0, 0, 128, 32), 0, Effect.STATIC)
            await screen.show("凡是自称公检法要求汇款的，都是诈骗", color="yellow", hold_s=30)
            area = card.shown[-1]
            assert (area.color, area.effect, area.single_line) == (
                "yellow",
                Effect.SCROLL_LEFT,
                True,
            )
            assert screen.health().last_ack is not None
            assert card.errors == []

    run(scenario)


def test_the_card_drops_a_slogan_that_is_not_refreshed() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card) as screen:
            await screen.show("不轻信", hold_s=0.2)  # the card counts whole seconds: 1 s
            assert card.showing() == "不轻信" and card.shown[-1].timeout_s == 1
            # The card's own timer (real time) ends it, and the driver's reckoning of it.
            gone = await until(lambda: not card.showing() and not screen.health().showing, 3)
            assert gone and card.showing() is None and screen.health().showing is None

    run(scenario)


def test_a_nack_is_a_display_error_with_the_cards_code() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card) as screen:
            await screen.show("不透露", hold_s=30)
            card.nack_code = 3
            with pytest.raises(DisplayError) as err:
                await screen.show("不转账", hold_s=30)
            message = str(err.value)
            assert "错误码 3" in message and "控制器忙" in message
            assert "error 3 ERR_BUSY (the controller is busy)" in message
            health = screen.health()
            assert health.available is True  # it answered
            assert health.last_error == message and health.showing == "不透露"
            with pytest.raises(DisplayError, match="ERR_BUSY"):
                await screen.power(False)
            assert screen.health().powered is None
            card.nack_code = None
            await screen.show("不转账", hold_s=30)
            assert screen.health().last_error is None

    run(scenario)


def test_a_card_that_stops_answering_times_out_and_reads_unavailable() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card) as screen:
            await screen.show("不透露", hold_s=30)
            card.silent = True
            started = time.monotonic()
            with pytest.raises(DisplayError, match="无应答") as err:
                await screen.show("不转账", hold_s=30)
            assert time.monotonic() - started < 3.0
            assert "no reply from 127.0.0.1" in str(err.value)
            assert screen.health().available is False
            assert await screen.ping() is False
            card.silent = False
            assert await screen.ping() is True
            await screen.show("不转账", hold_s=30)
            assert screen.health().available is True and card.showing() == "不转账"

    run(scenario)


def test_a_card_that_restarts_is_reconnected() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card) as screen:
            await screen.show("一", hold_s=30)
            await card.stop()  # the kept connection dies with it
            await card.start()
            await screen.show("二", hold_s=30)  # at once, on a new connection
            assert card.connections == 2 and card.showing() == "二"

            await card.stop()
            with pytest.raises(DisplayError, match="cannot connect"):
                await screen.show("三", hold_s=30)
            assert screen.health().available is False
            refused = time.monotonic()  # just after the failed connect that started the backoff
            await card.start()
            # A timer running out: the line's first reconnect backoff (0.2 s), which only the
            # driver keeps and nothing outside shows, must pass before it tries again.
            await asyncio.sleep(max(0.0, refused + 0.3 - time.monotonic()))
            await screen.show("三", hold_s=30)
            assert screen.health().available is True and card.showing() == "三"

    run(scenario)


def test_a_dropped_connection_is_retried_once_then_reported() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card) as screen:
            await screen.show("一", hold_s=30)
            card.close_on_request = True
            before = len(card.requests)
            with pytest.raises(DisplayError, match=r"connection to 127\.0\.0\.1.* lost"):
                await screen.show("二", hold_s=30)
            assert len(card.requests) == before + 2  # the kept connection, then a fresh one
            card.close_on_request = False
            # Nothing to wait for: both connects succeeded, so no reconnect backoff is running.
            await screen.show("二", hold_s=30)
            assert card.showing() == "二"

    run(scenario)


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff noise \x5a", b"\xa5\xa5\x13\x37\x5a", b"\xa5\xa5\x00\x80\xa6\x09\x5a\xa5"],
    ids=["noise", "a bogus frame", "a bad escape"],
)
def test_garbage_before_the_reply_is_skipped(garbage: bytes) -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble(garbage=garbage) as card, onbon(card) as screen:
            await screen.show("不贪小便宜", hold_s=30)
            assert await screen.ping() is True
            assert screen.health().showing == "不贪小便宜"

    run(scenario)


def test_a_request_for_another_address_gets_no_answer() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble(address=7) as card, onbon(card, address=8) as screen:
            with pytest.raises(DisplayError, match="no reply"):
                await screen.show("不扫码", hold_s=30)
            assert card.requests == []

    run(scenario)


def test_text_outside_gb2312_sends_nothing() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card) as screen:
            with pytest.raises(ValueError, match=r"U\+1F4B0") as err:
                await screen.show("天上掉💰", hold_s=30)
            assert "💰" in str(err.value)
            assert card.requests == [] and screen.health().available is None

    run(scenario)


def test_a_text_too_long_for_a_5k_card_is_refused_before_sending() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card, type="onbon-bx5k") as screen:
            with pytest.raises(DisplayError, match=r"文字过长.*text too long"):
                await screen.show("防" * 300, hold_s=30)
            assert card.requests == []
            await screen.show("防" * 200, hold_s=30)  # 400 bytes of text fit in 512
            assert card.showing() == "防" * 200

    run(scenario)


def test_clear_status_and_power() -> None:
    async def scenario() -> None:
        async with OnbonControllerDouble() as card, onbon(card) as screen:
            await screen.show("不轻信", hold_s=30)
            await screen.clear()
            assert card.areas == {} and card.clears == 1
            await screen.power(False)
            report = await screen.status()
            assert isinstance(report, StatusReport) and report.powered is False
            assert report.clock is not None and report.clock.year == 2026
            card.powered = True  # someone switched it on at the card
            await screen.status()
            assert screen.health().powered is True

    run(scenario)


def test_the_same_card_over_a_serial_line() -> None:
    """pyserial's socket:// URL carries the serial bytes to the double: the serial code path."""

    async def scenario() -> None:
        async with OnbonControllerDouble() as card:
            url = f"socket://{card.host}:{card.port}"
            async with onbon(card, host=None, serial_port=url, timeout_s=1.0) as screen:
                await screen.show("不汇款", hold_s=30)
                assert card.showing() == "不汇款"
                await screen.power(True)
                assert await screen.ping() is True

    run(scenario)


def test_a_frame_damaged_on_the_line_is_refused_with_err_checksum() -> None:
    """The double checks the product's CRC independently; the product reads the card's NACK."""

    async def scenario() -> None:
        async with OnbonControllerDouble() as card:
            frame = bytearray(encode_frame(cmd.ping(), Header(dst=card.address)))
            frame[-2] ^= 0x01  # a bit of the CRC flipped on the way
            decoder = OnbonDecoder()

            def reply(chunk: bytes) -> DecoderEvent | None:
                decoder.feed(chunk)
                event = decoder.next_event()
                return None if event is NEED_DATA else event

            line = TcpLine(card.host, card.port)
            try:
                assert await line.request(bytes(frame), reply, 1.0) == Nack(5)
                assert (
                    await line.request(encode_frame(cmd.ping(), Header(dst=1)), reply, 1.0) == Ack()
                )
            finally:
                await line.detach()

    run(scenario)
