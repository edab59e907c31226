"""The notifier's policy as pure tables: dedupe, hysteresis of a device's offline/back, each
channel's rate, the retry backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.alerts.events import device_offline, relay_confirmed, relay_unconfirmed
from controller.alerts.policy import AvailabilityWatch, LastSent, RateWindow, admit, backoff_s

T0 = datetime(2027, 5, 1, 0, 0, tzinfo=UTC)
HOUR = 3600.0


@pytest.mark.parametrize(
    ("last", "offset_s", "clears", "expected"),
    [
        (None, 0, False, True),  # the first of its kind
        (LastSent(T0, False), 60, False, False),  # a repeat while it lasts
        (LastSent(T0, False), 6 * HOUR, False, True),  # still true after repeat_after: again
        (LastSent(T0, True), 60, False, True),  # a new fault after its all-clear
        (None, 0, True, False),  # an all-clear for a fault never sent
        (LastSent(T0, True), 60, True, False),  # a second all-clear
        (LastSent(T0, False), 60, True, True),  # the all-clear of a sent fault
    ],
)
def test_admit(last: LastSent | None, offset_s: float, clears: bool, expected: bool) -> None:
    at = T0 + timedelta(seconds=offset_s)
    alert = relay_confirmed("east", at) if clears else relay_unconfirmed("east", "x", at)
    assert admit(alert, last, 6 * HOUR) is expected


def test_backoff_doubles_from_five_seconds_to_a_quarter_hour() -> None:
    assert [backoff_s(n) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 640, 900]
    assert backoff_s(50) == 900


def test_rate_window_lets_the_limit_through_then_waits_for_the_oldest() -> None:
    window = RateWindow(3, 60)
    for mono in (0.0, 1.0, 2.0):
        assert window.free_at(mono) == mono
        window.took(mono)
    assert window.free_at(3.0) == 60.0  # the first send leaves the window at 60
    window.took(60.0)
    assert window.free_at(60.5) == 61.0
    assert window.free_at(200.0) == 200.0


def _run(watch: AvailabilityWatch, script: list[tuple[float, bool | None]], until: float
         ) -> list[tuple[float, str, str]]:  # fmt: skip
    """Observe `script` (second, available) and tick every second up to `until`."""
    events = dict(script)
    found: list[tuple[float, str, str]] = []
    for second in range(int(until) + 1):
        if second in events:
            watch.observe("east", events[second], float(second))
        for alert in watch.due(float(second), T0 + timedelta(seconds=second)):
            found.append((float(second), alert.kind, alert.text))
    return found


def test_a_device_offline_longer_than_the_limit_is_one_alert_and_one_back() -> None:
    watch = AvailabilityWatch(offline_after_s=300, stable_after_s=120)
    found = _run(watch, [(10, False), (200, None), (1000, True)], 1500)
    assert [(s, k) for s, k, _ in found] == [(310.0, "device_offline"), (1120.0, "device_back")]
    assert found[0][2] == "设备 east 离线已 5 分钟 / device east offline for 5 min"
    assert "中断约 16 分钟" in found[1][2]  # 10 s .. 1000 s


def test_a_short_drop_that_heals_says_nothing() -> None:
    watch = AvailabilityWatch(offline_after_s=300, stable_after_s=120)
    assert _run(watch, [(10, False), (100, True)], 1000) == []


def test_a_flapping_device_is_one_alert_and_one_back_when_stable() -> None:
    watch = AvailabilityWatch(offline_after_s=300, stable_after_s=120)
    flaps: list[tuple[float, bool | None]] = []
    for start in range(0, 1200, 100):  # down 60 s, up 40 s, for 20 minutes
        flaps += [(start, False), (start + 60, True)]
    found = _run(watch, [*flaps, (1300, True)], 2000)
    kinds = [(s, k) for s, k, _ in found]
    assert kinds == [(300.0, "device_offline"), (1280.0, "device_back")]
    assert "反复掉线" in found[0][2] and "keeps dropping offline" in found[0][2]


def test_after_a_restart_the_owed_back_is_sent_once_stable() -> None:
    watch = AvailabilityWatch(offline_after_s=300, stable_after_s=120)
    watch.assume_alerted("east", 0.0)
    found = _run(watch, [(5, True)], 400)
    assert [(s, k) for s, k, _ in found] == [(125.0, "device_back")]


def test_unknown_availability_changes_nothing() -> None:
    watch = AvailabilityWatch(offline_after_s=0, stable_after_s=0)
    assert _run(watch, [(1, None), (2, None)], 5) == []


def test_alerts_text_is_chinese_first() -> None:
    alert = device_offline("east", 90, T0)
    zh, en = alert.text.split(" / ")
    assert "离线" in zh and en.startswith("device east offline")
    assert alert.key == "device:east" and alert.severity == "critical"
