"""The slogan rotator: each screen shows the next slogan every dwell, a temporary message
preempts the rotation until it expires, and screens are forced off outside their on-hours."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from controller.config.slogans import SloganEntry, text_problem
from controller.core.clock import Clock, waiting
from controller.core.stationtime import aware as station_aware
from drivers.displays.base import Color, Display, DisplayError
from drivers.settings.devices import DisplayConfig, OnHours

log = logging.getLogger(__name__)

_ids = itertools.count(1)


@dataclass(frozen=True)
class LedMessage:
    """A temporary text (e.g. a police warning) that preempts the slogans on some screens."""

    id: int
    text: str
    displays: tuple[str, ...]
    until: datetime
    by: str
    color: Color = "red"
    priority: int = 80  # the ladder (DESIGN.md §2.7): police warning 80, emergency 100
    key: str | None = None  # who may withdraw it early (an emergency's override id)
    since: datetime | None = None  # shows from then (an override's start); None: now


@dataclass
class ScreenState:
    mode: str = "starting"  # rotation | message | off | error
    text: str | None = None
    since: datetime | None = None
    last_push: datetime | None = None
    last_error: str | None = None
    powered: bool | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


def in_on_hours(hours: OnHours | None, now: time) -> bool:
    if hours is None:
        return True
    if hours.on <= hours.off:
        return hours.on <= now < hours.off
    return now >= hours.on or now < hours.off  # on across midnight


class SloganRotator:
    def __init__(
        self,
        displays: Mapping[str, Display],
        configs: Sequence[DisplayConfig],
        slogans: Sequence[SloganEntry],
        dwell_s: float,
        clock: Clock,
        tz: ZoneInfo,
    ) -> None:
        self.displays = dict(displays)
        self.configs = {c.id: c for c in configs if c.id in self.displays}
        self.slogans = list(slogans)
        self.dwell_s = dwell_s
        self.clock = waiting(clock)
        self.tz = tz
        self.messages: list[LedMessage] = []
        self.screens = {d: ScreenState() for d in self.displays}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for display_id in self.displays:
            self._tasks.append(asyncio.create_task(self._run(display_id), name=f"led {display_id}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def push_message(
        self,
        text: str,
        displays: Sequence[str] | None,
        minutes: float,
        by: str,
        color: Color = "red",
        priority: int = 80,
        key: str | None = None,
        since: datetime | None = None,
    ) -> LedMessage:
        """Preempt the rotation on `displays` (None: every screen) for `minutes`. On each
        screen the highest-priority message shows (the newest among equals); a lower one
        waits underneath until the higher one expires or is withdrawn.

        Raises ValueError, in the operator's language, for an unknown screen or a character a
        screen cannot show; nothing is changed then.
        """
        targets = tuple(displays) if displays else tuple(self.displays)
        problem = text_problem(text, list(self.configs.values()), targets)
        if problem is not None:
            raise ValueError(problem)
        until = (since or self.clock.now()) + timedelta(minutes=minutes)
        message = LedMessage(next(_ids), text, targets, until, by, color, priority, key, since)
        self.messages.append(message)
        for display_id in targets:
            self.screens[display_id].wake.set()
        return message

    def withdraw(self, key: str) -> int:
        """Take down the messages pushed with `key` now; how many there were."""
        gone = [m for m in self.messages if m.key == key]
        self.messages = [m for m in self.messages if m.key != key]
        for display_id in {d for m in gone for d in m.displays}:
            self.screens[display_id].wake.set()
        return len(gone)

    def active_message(self, display_id: str, now: datetime) -> LedMessage | None:
        self.messages = [m for m in self.messages if m.until > now]
        mine = [
            (m.priority, i, m)
            for i, m in enumerate(self.messages)
            if display_id in m.displays and (m.since is None or m.since <= now)
        ]
        return max(mine, key=lambda t: (t[0], t[1]))[2] if mine else None

    def playable(self, now: datetime) -> list[SloganEntry]:
        def aware(value: datetime | None) -> datetime | None:
            return None if value is None else station_aware(value, self.tz)

        out = []
        for s in self.slogans:
            start, end = aware(s.valid_from), aware(s.valid_until)
            if (start is None or start <= now) and (end is None or now < end):
                out.append(s)
        return out

    async def _run(self, display_id: str) -> None:
        display, screen = self.displays[display_id], self.screens[display_id]
        cfg = self.configs[display_id]
        index = 0
        while True:
            now = self.clock.now()
            wait = self.dwell_s
            if not in_on_hours(cfg.on_hours, now.astimezone(self.tz).time()):
                await self._power(display, screen, False)
                screen.mode, wait = "off", 30.0
            else:
                await self._power(display, screen, True)
                message = self.active_message(display_id, now)
                if message is not None:
                    hold = min((message.until - now).total_seconds(), self.dwell_s * 3)
                    await self._show(display, screen, "message", message.text, message.color, hold)
                    wait = min(self.dwell_s, max((message.until - now).total_seconds(), 0.05))
                else:
                    slogans = self.playable(now)
                    if slogans:
                        slogan = slogans[index % len(slogans)]
                        index += 1
                        wait = slogan.dwell_s or self.dwell_s
                        await self._show(
                            display, screen, "rotation", slogan.text, slogan.color, wait * 2 + 5
                        )
                    elif screen.mode == "message":  # no slogan to return to: a blank screen
                        await self._blank(display, screen)
            pending = [
                (m.since - now).total_seconds()
                for m in self.messages
                if display_id in m.displays and m.since is not None and m.since > now
            ]
            wait = min([wait, *pending])  # a message that starts later shows on time
            screen.wake.clear()
            await self.clock.wait_event(screen.wake, wait)

    async def _show(
        self,
        display: Display,
        screen: ScreenState,
        mode: str,
        text: str,
        color: Color | None,
        hold_s: float,
    ) -> None:
        try:
            await display.show(text, color=color, hold_s=hold_s)
        except (DisplayError, OSError, ValueError) as exc:  # ValueError: a character it lacks
            screen.mode, screen.last_error = "error", str(exc)
            log.warning("display %s: %s", display.id, exc)
            return
        now = self.clock.now()
        if screen.text != text or screen.mode != mode:
            screen.since = now
        screen.mode, screen.text, screen.last_push, screen.last_error = mode, text, now, None

    async def _blank(self, display: Display, screen: ScreenState) -> None:
        try:
            await display.clear()
        except (DisplayError, OSError) as exc:
            screen.mode, screen.last_error = "error", str(exc)
            return
        screen.mode, screen.text, screen.since = "blank", None, self.clock.now()

    async def _power(self, display: Display, screen: ScreenState, on: bool) -> None:
        if screen.powered is on:
            return
        try:
            await display.power(on)
            screen.powered = on
        except (DisplayError, OSError) as exc:
            screen.last_error = str(exc)
            log.warning("display %s power %s: %s", display.id, on, exc)

    def status(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for display_id, screen in self.screens.items():
            health = self.displays[display_id].health()
            out.append(
                {
                    "id": display_id,
                    "type": self.configs[display_id].type,
                    "mode": screen.mode,
                    "text": screen.text,
                    "since": screen.since.isoformat() if screen.since else None,
                    "last_push": screen.last_push.isoformat() if screen.last_push else None,
                    "powered": screen.powered,
                    "available": health.available,
                    "showing": health.showing,
                    "last_error": screen.last_error or health.last_error,
                }
            )
        return out
