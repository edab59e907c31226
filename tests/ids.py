"""Airing ids for tests, built through the product's one airing-id module."""

from __future__ import annotations

from datetime import datetime

from controller.core.airing_id import AiringId


def override(override_id: str) -> str:
    """The airing id of an override (manual, emergency)."""
    return str(AiringId.for_override(override_id))


def slot(name: str, start: datetime) -> str:
    """The airing id of slot `name` starting at `start` (aware, station time)."""
    return str(AiringId.for_slot(name, start))


def resumed(airing_id: str, segment: int = 1) -> str:
    """The id of an airing's `segment`-th resumed segment."""
    return str(AiringId.parse(airing_id).resumed(segment))


def is_override(airing_id: str) -> bool:
    return AiringId.parse(airing_id).override_id is not None
