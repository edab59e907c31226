"""Small parts every relay driver is made of: its id and channels, a channel's known status."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Protocol, TypeVar

from drivers.relays.base import ChannelStatus


class Section(Protocol):
    """What every relay's config section has."""

    @property
    def id(self) -> str: ...

    @property
    def channels(self) -> int: ...


S = TypeVar("S", bound=Section)


class Configured(Generic[S]):
    """A driver's `id` and `channels`, as its config section (kept as `_cfg`) says."""

    def __init__(self, cfg: S) -> None:
        self._cfg = cfg

    @property
    def id(self) -> str:
        return self._cfg.id

    @property
    def channels(self) -> int:
        return self._cfg.channels


def known_status(
    channel: int, known: tuple[bool, datetime] | None, *, confirmed: bool = True
) -> ChannelStatus:
    """A channel's status from its last known state and since when (None: none known):
    `confirmed` when that is the device's word, not only what was commanded."""
    if known is None:
        return ChannelStatus(channel, "unknown", False, None)
    on, since = known
    return ChannelStatus(channel, "on" if on else "off", confirmed, since)
