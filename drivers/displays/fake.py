"""An in-memory screen that needs no hardware: records what it shows, expires it like a card."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from drivers.displays.base import Charset, Color, DisplayError, DisplayHealth
from drivers.protocols.onbon_cmd import encode_checked
from drivers.settings.devices import FakeDisplayConfig


@dataclass(frozen=True)
class FakeShow:
    """One text the screen took."""

    at: datetime
    text: str
    color: Color | None
    hold_s: float


class FakeDisplay:
    """A screen in memory. Like an Onbon card in run mode 2, a text disappears when not shown
    again within its `hold_s`. Tests may set `failing` to a message: every command then raises
    DisplayError with it and the screen reads as unavailable.
    """

    def __init__(self, cfg: FakeDisplayConfig) -> None:
        self._cfg = cfg
        self.shown: list[FakeShow] = []
        self.failing: str | None = None
        self._showing: tuple[str, float] | None = None  # text, time.monotonic() it expires
        self._powered: bool | None = None
        self._last_ack: datetime | None = None
        self._last_error: str | None = None

    @property
    def id(self) -> str:
        return self._cfg.id

    @property
    def charset(self) -> Charset:
        return self._cfg.charset

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def show(self, text: str, *, color: Color | None = None, hold_s: float = 10.0) -> None:
        encode_checked(text, self.charset)
        self._answer()
        self.shown.append(FakeShow(datetime.now(UTC), text, color, hold_s))
        self._showing = (text, time.monotonic() + hold_s)

    async def clear(self) -> None:
        self._answer()
        self._showing = None

    async def power(self, on: bool) -> None:
        self._answer()
        self._powered = on

    async def ping(self) -> bool:
        return self.failing is None

    def health(self) -> DisplayHealth:
        showing = self._showing
        if showing is not None and time.monotonic() >= showing[1]:
            showing = None
        return DisplayHealth(
            available=self.failing is None,
            last_error=self._last_error,
            last_ack=self._last_ack,
            showing=showing[0] if showing else None,
            powered=self._powered,
        )

    @property
    def showing(self) -> str | None:
        return self.health().showing

    def _answer(self) -> None:
        if self.failing is not None:
            self._last_error = self.failing
            raise DisplayError(self.failing)
        self._last_ack = datetime.now(UTC)
        self._last_error = None
