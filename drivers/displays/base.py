"""The LED display contract: show a text, clear, force the screen on or off, say how it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Charset = Literal["gb2312", "utf-8"]
Color = Literal["red", "green", "yellow"]


class DisplayError(Exception):
    """A text the screen did not take (NACK, no answer), said Chinese first, English after."""


@dataclass(frozen=True)
class DisplayHealth:
    available: bool | None  # None: not heard from yet
    last_error: str | None
    last_ack: datetime | None
    showing: str | None  # the text the screen last acknowledged
    powered: bool | None  # forced on/off state as last acknowledged


class Display(Protocol):
    """A screen. Every method is safe to call from the event loop (I/O runs off the loop)."""

    @property
    def id(self) -> str: ...

    @property
    def charset(self) -> Charset: ...

    async def start(self) -> None:
        """Open the transport; must not change what the screen shows."""

    async def stop(self) -> None: ...

    async def show(self, text: str, *, color: Color | None = None, hold_s: float = 10.0) -> None:
        """Show `text`; on cards with a run mode, it disappears by itself if not refreshed
        within `hold_s` (so a dead controller does not leave a stale warning up forever).
        Returns when the screen acknowledged; raises DisplayError otherwise."""

    async def clear(self) -> None: ...

    async def power(self, on: bool) -> None:
        """Force the screen on or off (night hours)."""

    async def ping(self) -> bool:
        """True when the screen answers."""

    def health(self) -> DisplayHealth: ...
