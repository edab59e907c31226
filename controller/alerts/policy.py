"""When an alert goes out: deduplication, a device's offline/back hysteresis, each channel's
rate, the retry backoff. Pure: every decision is a function of the readings it is given.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from controller.alerts.events import Alert, device_back, device_offline
from controller.config.alerts import Severity

BACKOFF_FIRST_S, BACKOFF_MAX_S = 5.0, 900.0
RATE_WINDOW_S = 60.0


@dataclass(frozen=True)
class LastSent:
    """The last alert of a key that went out: when, and whether it was an all-clear."""

    at: datetime
    clears: bool
    severity: Severity = "info"  # of that alert: its all-clear goes where it went


def admit(alert: Alert, last: LastSent | None, repeat_after_s: float) -> bool:
    """Does `alert` go out, given the last one of its key? A fault is sent once while it lasts
    (again only after `repeat_after_s`); an all-clear only ends a fault that was sent."""
    if alert.clears:
        return last is not None and not last.clears
    if last is None or last.clears:
        return True
    return (alert.at - last.at).total_seconds() >= repeat_after_s


def backoff_s(attempt: int) -> float:
    """The wait after failed attempt number `attempt` (1, 2, ...): 5 s doubling to 15 min."""
    return min(BACKOFF_FIRST_S * 2.0 ** max(attempt - 1, 0), BACKOFF_MAX_S)


class RateWindow:
    """At most `limit` sends in any `window_s` (monotonic seconds)."""

    def __init__(self, limit: int, window_s: float = RATE_WINDOW_S) -> None:
        self.limit, self.window_s = limit, window_s
        self._sent: deque[float] = deque()

    def free_at(self, mono: float) -> float:
        """The earliest monotonic reading at which one more send is allowed (`mono` if now)."""
        while self._sent and self._sent[0] <= mono - self.window_s:
            self._sent.popleft()
        if len(self._sent) < self.limit:
            return mono
        return self._sent[0] + self.window_s

    def took(self, mono: float) -> None:
        self._sent.append(mono)


@dataclass
class _Episode:
    """A device's trouble, from its first drop until it has been back long enough."""

    since: float  # monotonic, the first drop
    drops: int = 1
    online: bool | None = False
    up_since: float | None = None
    alerted: bool = False


class AvailabilityWatch:
    """Offline/back with hysteresis, one episode per device: the alert when it has been in
    trouble `offline_after_s` (still offline, or dropped more than once: flapping), the
    all-clear once it stayed online `stable_after_s`. A flapping device is one alert and one
    all-clear; a short drop that heals is none.
    """

    def __init__(self, offline_after_s: float, stable_after_s: float) -> None:
        self.offline_after_s = offline_after_s
        self.stable_after_s = stable_after_s
        self._episodes: dict[str, _Episode] = {}

    def assume_alerted(self, device: str, mono: float) -> None:
        """After a restart: the device's offline alert went out and no all-clear followed."""
        self._episodes[device] = _Episode(mono, online=None, alerted=True)

    def observe(self, device: str, available: bool | None, mono: float) -> None:
        """What the device says now; None (no way to tell, broker gone) changes nothing."""
        if available is None:
            return
        episode = self._episodes.get(device)
        if not available:
            if episode is None:
                self._episodes[device] = _Episode(mono)
            elif episode.online is not False:
                episode.drops += 1 if episode.online else 0
                episode.online, episode.up_since = False, None
        elif episode is not None and episode.online is not True:
            episode.online, episode.up_since = True, mono

    def due(self, mono: float, wall: datetime) -> list[Alert]:
        """The alerts due at `mono` (wall time `wall` for their stamp)."""
        found: list[Alert] = []
        for device, ep in list(self._episodes.items()):
            lasted = mono - ep.since
            troubled = not ep.online or ep.drops > 1
            if not ep.alerted and troubled and lasted >= self.offline_after_s:
                ep.alerted = True
                found.append(device_offline(device, lasted, wall, flapping=ep.drops > 1))
            if ep.up_since is not None and mono - ep.up_since >= self.stable_after_s:
                del self._episodes[device]
                if ep.alerted:
                    found.append(device_back(device, ep.up_since - ep.since, wall))
        return found
