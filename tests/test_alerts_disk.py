"""The air-check disk as an alert source (issue 11, items 5 and 8): nearly full is told (the
notifier keeps one alert while it lasts, tests/test_alerts_notifier.py), room again is its
all-clear, and a disk that cannot be read never stops the watch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from clocks import VirtualClock

from controller.alerts.events import Alert
from controller.alerts.sources import DiskWatch


@dataclass
class Report:
    free_bytes: int | None
    min_free_bytes: int = 2_000_000_000
    dir: Path = Path("/srv/aircheck")

    @property
    def low(self) -> bool:
        return self.free_bytes is not None and self.free_bytes < self.min_free_bytes


@dataclass
class Notifier:
    clock: VirtualClock = field(default_factory=VirtualClock)
    told: list[Alert] = field(default_factory=list)

    def notify(self, alert: Alert) -> None:
        self.told.append(alert)


def test_nearly_full_then_room_again() -> None:
    notifier, reports = Notifier(), [Report(10**10), Report(500_000_000), Report(None),
                                     Report(9 * 10**9), Report(9 * 10**9)]  # fmt: skip
    watch = DiskWatch(notifier, lambda: reports.pop(0))  # type: ignore[arg-type]
    for _ in range(5):
        watch.tick()
    low, ok = notifier.told
    assert (low.kind, low.severity, low.clears, low.key) == ("disk_low", "warning", False,
                                                             "disk:/srv/aircheck")  # fmt: skip
    assert "磁盘空间不足" in low.text and "500 MB" in low.text and "2000 MB" in low.text
    assert (ok.key, ok.clears, ok.severity) == ("disk:/srv/aircheck", True, "info")
    assert "磁盘空间已恢复" in ok.text


def test_an_unreadable_disk_is_said_and_the_watch_goes_on() -> None:
    notifier = Notifier()

    def report() -> Report:
        raise OSError("stale NFS handle")

    watch = DiskWatch(notifier, report)  # type: ignore[arg-type]
    watch.tick()
    assert notifier.told == []
