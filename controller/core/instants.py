"""The one form in which every store keeps an instant: UTC ISO-8601 text, microseconds, `Z`.

`2026-12-01T23:40:56.123000Z`: always 27 characters, so SQLite compares and sorts the text in
time order (years 2000–2199, the station's range); a person reading the database sees the
moment; Python 3.11's `datetime.fromisoformat` reads it back to the very datetime written
(microseconds are all a datetime holds, so nothing is rounded away). Conversion happens at the
store boundary: stores take aware datetimes (or aware ISO text, as the runner writes) and give
back aware datetimes in UTC. Station time is for the edges (controller/core/stationtime.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["from_stored", "from_stored_or_none", "to_stored", "to_stored_or_none"]


def to_stored(moment: datetime | str) -> str:
    """The stored form of an aware instant (or of ISO text with an offset); ValueError if the
    moment has no offset: a naive time is ambiguous and the caller must say whose it is."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.utcoffset() is None:
        raise ValueError(f"an instant needs a UTC offset, not {moment.isoformat()!r}")
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def to_stored_or_none(moment: datetime | str | None) -> str | None:
    return None if moment is None else to_stored(moment)


def from_stored(text: str) -> datetime:
    """The aware UTC instant a stored text means. Text from before the one form (any offset)
    reads the same; text without an offset never was written and is taken as UTC."""
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def from_stored_or_none(text: str | None) -> datetime | None:
    return None if text is None else from_stored(text)
