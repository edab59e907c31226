"""Onbon BX-5K/6K screens: each text a self-expiring dynamic area, confirmed by the card's ACK."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from drivers.displays.base import Charset, Color, DisplayError, DisplayHealth
from drivers.protocols import onbon_cmd as cmd
from drivers.protocols.onbon import (
    NEED_DATA,
    Ack,
    Nack,
    OnbonDecoder,
    ReplyEvent,
    StatusReport,
    error_info,
)
from drivers.protocols.onbon_frame import CorruptFrame, Header, encode_frame
from drivers.settings.devices import OnbonDisplayConfig
from drivers.transports.serial import SerialError
from drivers.transports.tcp import TcpError

log = logging.getLogger(__name__)

T = TypeVar("T")

AREA_ID = 0
MAX_DATA = {"onbon-bx5k": 512, "onbon-bx6k": 1024}  # the card's receive buffer (§5.1.3, §8.1.2)
STAY_S = 5.0  # the document's example; a single static page is shown for as long as it lives
SPEED = 2  # the document's example
_CENTRED = 0b1010  # horizontally and vertically


class Line(Protocol):
    """A request/response line to the card: TcpLine (port 5005) or a SerialBus (RS-232/485)."""

    async def attach(self) -> None: ...

    async def detach(self) -> None: ...

    async def request(
        self, frame: bytes, reply: Callable[[bytes], T | None], timeout_s: float
    ) -> T: ...


class OnbonDisplay:
    """One BX-5K or BX-6K card, at its screen address, over one line.

    `show` sends dynamic area 0 over the whole screen with run mode 2: the card deletes the
    text by itself when it is not refreshed within `hold_s`, so a station that stops leaves no
    stale warning up. State comes only from the card's answers: `showing` is the text the card
    acknowledged, until its hold time runs out; `powered` the last acknowledged force on/off.
    `last_error` is cleared by the next exchange that succeeds.
    """

    def __init__(self, cfg: OnbonDisplayConfig, line: Line) -> None:
        if cfg.font_size not in cmd.FONTS:
            raise ValueError(
                f"屏幕 {cfg.id} 的字号 {cfg.font_size} 不受支持 / display {cfg.id}: font_size "
                f"{cfg.font_size} px, the card has {sorted(cmd.FONTS)} px fonts"
            )
        self._cfg = cfg
        self._line = line
        self._header = Header(dst=cfg.address)
        self._max_data = MAX_DATA[cfg.type]
        self._available: bool | None = None
        self._last_error: str | None = None
        self._last_ack: datetime | None = None
        self._showing: tuple[str, float] | None = None  # text, time.monotonic() it expires
        self._powered: bool | None = None

    @property
    def id(self) -> str:
        return self._cfg.id

    @property
    def charset(self) -> Charset:
        return "gb2312"  # the card renders from its own GB2312 font

    async def start(self) -> None:
        """Ready the line; nothing is sent, so the screen keeps what it shows."""
        await self._line.attach()

    async def stop(self) -> None:
        await self._line.detach()

    async def show(self, text: str, *, color: Color | None = None, hold_s: float = 10.0) -> None:
        """Raises ValueError (before sending anything) for a character outside GB2312."""
        area = self.area_for(text, color=color, hold_s=hold_s)
        data = cmd.dynamic_area([area])
        if len(data) > self._max_data:
            raise self._fail(
                f"屏幕 {self.id} 文字过长（{len(data)} 字节，控制卡上限 {self._max_data}）/ "
                f"display {self.id}: text too long ({len(data)} bytes, the card takes "
                f"{self._max_data})"
            )
        await self._command(data, "显示文字", "show text")
        self._showing = (text, time.monotonic() + area.timeout_s)

    def area_for(self, text: str, *, color: Color | None, hold_s: float) -> cmd.DynamicArea:
        """The dynamic area for `text`: static and centred when it fits the screen, otherwise
        one line scrolling left; it expires `hold_s` (rounded up, 1 s..18 h) after each show."""
        cfg = self._cfg
        half_widths = sum(1 if ord(c) < 0x80 else 2 for c in text if c != "\n")
        per_screen = (cfg.width // (cfg.font_size // 2)) * max(1, cfg.height // cfg.font_size)
        fits = "\n" in text or half_widths <= per_screen
        if not fits:
            text = text.replace("\n", "　")
        return cmd.DynamicArea(
            data=cmd.encode_text(text, font_px=cfg.font_size, color=color or cfg.color),
            width=cfg.width,
            height=cfg.height,
            area_id=AREA_ID,
            run_mode=cmd.RunMode.EXPIRE,
            timeout_s=min(0xFFFF, max(1, math.ceil(hold_s))),
            alignment=_CENTRED if fits else 0,
            single_line=not fits,
            auto_wrap=fits and "\n" not in text,
            effect=cmd.Effect.STATIC if fits else cmd.Effect.SCROLL_LEFT,
            speed=SPEED,
            stay_s=STAY_S,
        )

    async def clear(self) -> None:
        """Delete the dynamic areas, then clear the screen."""
        await self._command(cmd.dynamic_area([], delete_all=True), "删除动态区", "delete areas")
        self._showing = None
        await self._command(cmd.clear_screen(), "清屏", "clear screen")

    async def power(self, on: bool) -> None:
        zh, en = ("强制开屏", "force screen on") if on else ("强制关屏", "force screen off")
        await self._command(cmd.force_power(on), zh, en)
        self._powered = on

    async def ping(self) -> bool:
        """True when the card answers (a NACK is an answer too; it shows in last_error)."""
        try:
            await self._command(cmd.ping(), "PING", "ping")
        except DisplayError:
            return self._available is True
        return True

    async def status(self) -> StatusReport:
        """Ask the card how it is (A1 02); its on/off state becomes `powered`."""
        event = await self._exchange(
            cmd.status_query(), "查询状态", "query status", (StatusReport,)
        )
        assert isinstance(event, StatusReport)
        self._powered = event.powered
        return event

    def health(self) -> DisplayHealth:
        showing = self._showing
        if showing is not None and time.monotonic() >= showing[1]:
            showing = None  # run mode 2: the card has deleted it by now
        return DisplayHealth(
            available=self._available,
            last_error=self._last_error,
            last_ack=self._last_ack,
            showing=showing[0] if showing else None,
            powered=self._powered,
        )

    async def _command(self, data: bytes, zh: str, en: str) -> None:
        await self._exchange(data, zh, en, (Ack,))

    async def _exchange(
        self, data: bytes, zh: str, en: str, wanted: tuple[type[ReplyEvent], ...]
    ) -> ReplyEvent:
        """Send one request; the first ACK, NACK or `wanted` reply answers it. NACK raises."""
        decoder = OnbonDecoder()
        accept = (*wanted, Nack)

        def reply(chunk: bytes) -> ReplyEvent | None:
            decoder.feed(chunk)
            while (event := decoder.next_event()) is not NEED_DATA:
                if isinstance(event, accept):
                    return event
                if isinstance(event, CorruptFrame):
                    log.warning("display %s: damaged frame ignored: %s", self.id, event.reason)
                else:
                    log.info("display %s: unexpected reply ignored: %s", self.id, event)
            return None

        frame = encode_frame(data, self._header)
        try:
            event: ReplyEvent = await self._line.request(frame, reply, self._cfg.timeout_s)
        except (TcpError, SerialError) as exc:
            self._available = False
            message = f"屏幕 {self.id} {zh}失败 / display {self.id}: {en} failed — {exc}"
            raise self._fail(message) from exc
        self._available = True
        if isinstance(event, Nack):
            name, zh_why, en_why = error_info(event.code)
            raise self._fail(
                f"屏幕 {self.id} 拒绝{zh}：错误码 {event.code}（{name}，{zh_why}）/ "
                f"display {self.id} refused to {en}: error {event.code} {name} ({en_why})"
            )
        self._last_error = None
        if isinstance(event, Ack):
            self._last_ack = datetime.now(UTC)
        return event

    def _fail(self, message: str) -> DisplayError:
        self._last_error = message
        log.error("%s", message)
        return DisplayError(message)
