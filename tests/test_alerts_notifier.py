"""The notifier on the virtual clock: one alert per fault, each channel's rate, retries with
backoff, the queue surviving a restart, alerts queued by another process (a crash)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clocks import VirtualClock

from controller.alerts import transport
from controller.alerts.events import (
    Alert,
    daemon_restarted,
    device_back,
    device_offline,
    relay_confirmed,
    relay_unconfirmed,
)
from controller.alerts.notifier import Notifier
from controller.alerts.outbox import AlertOutbox, raise_elsewhere
from controller.config.alerts import AlertsConfig

SH = ZoneInfo("Asia/Shanghai")


def config(**fields: Any) -> AlertsConfig:
    channels = fields.pop("channels", [{"name": "ops", "type": "webhook", "url": "http://h/"}])
    return AlertsConfig.model_validate({"channels": channels, **fields})


class FakeSend:
    """Stands in for transport.send: records (channel, kind, virtual second), fails at will."""

    def __init__(self, clock: VirtualClock, failures: int = 0) -> None:
        self.clock, self.failures = clock, failures
        self.calls: list[tuple[str, str, float]] = []

    def __call__(self, ch: Any, alert: Alert, *_: Any) -> None:
        self.calls.append((ch.name, alert.kind, self.clock.monotonic() - 1000.0))
        if self.failures:
            self.failures -= 1
            raise transport.SendFailed("对方回复 HTTP 500 / the receiver answered HTTP 500")


def run(clock: VirtualClock, db: Path, cfg: AlertsConfig,
        scenario: Callable[[Notifier], Awaitable[None]]) -> Notifier:  # fmt: skip
    async def main() -> Notifier:
        notifier = Notifier(cfg, "测试站", SH, db, clock, sends_hold_clock=True)
        await notifier.start()
        try:
            await scenario(notifier)
        finally:
            await notifier.stop()
        return notifier

    return clock.run(main())


@pytest.fixture
def fake(clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> FakeSend:
    sender = FakeSend(clock)
    monkeypatch.setattr(transport, "send", sender)
    return sender


def test_one_alert_per_fault_and_one_all_clear(clock: VirtualClock, fake: FakeSend,
                                               tmp_path: Path) -> None:  # fmt: skip
    async def scenario(n: Notifier) -> None:
        for _ in range(5):  # every failed command of a device in trouble
            n.notify(relay_unconfirmed("east", "无应答 / no reply", clock.now()))
            await clock.sleep(1)
        n.notify(relay_confirmed("east", clock.now()))
        n.notify(relay_confirmed("east", clock.now()))  # the next one closes nothing
        await clock.sleep(1)
        n.notify(relay_unconfirmed("east", "无应答 / no reply", clock.now()))
        await clock.sleep(5)

    notifier = run(clock, tmp_path / "db", config(), scenario)
    kinds = [k for _, k, _ in fake.calls]
    assert kinds == ["relay_unconfirmed", "relay_unconfirmed", "relay_unconfirmed"]
    assert notifier.dropped == 5
    outbox = AlertOutbox(tmp_path / "db")
    assert [a.alert.clears for a in outbox.recent()] == [False, True, False]
    assert all(d.state == "sent" for a in outbox.recent() for d in a.deliveries)


def test_each_channel_keeps_its_rate(clock: VirtualClock, fake: FakeSend, tmp_path: Path) -> None:
    channels = [
        {"name": "slow", "type": "webhook", "url": "http://h/", "max_per_minute": 4},
        {"name": "fast", "type": "webhook", "url": "http://h/"},
    ]

    async def scenario(n: Notifier) -> None:
        for i in range(10):
            n.notify(device_offline(f"d{i}", 300, clock.now()))
        await clock.sleep(200)

    run(clock, tmp_path / "db", config(channels=channels), scenario)
    slow = [t for ch, _, t in fake.calls if ch == "slow"]
    fast = [t for ch, _, t in fake.calls if ch == "fast"]
    assert len(slow) == len(fast) == 10
    assert max(fast) - min(fast) < 1  # within its 10 a minute: at once
    first = min(slow)
    per_minute = [sum(1 for t in slow if first + 60 * m <= t < first + 60 * (m + 1))
                  for m in range(3)]  # fmt: skip
    assert per_minute == [4, 4, 2]


def one_offline(clock: VirtualClock, then_s: float) -> Callable[[Notifier], Awaitable[None]]:
    """A scenario: one device offline, then `then_s` of time."""

    async def scenario(n: Notifier) -> None:
        n.notify(device_offline("east", 300, clock.now()))
        await clock.sleep(then_s)

    return scenario


def test_a_failing_channel_is_retried_with_backoff(clock: VirtualClock, fake: FakeSend,
                                                   tmp_path: Path) -> None:  # fmt: skip
    fake.failures = 3
    run(clock, tmp_path / "db", config(), one_offline(clock, 60))
    times = [t for _, _, t in fake.calls]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps == [5, 10, 20]
    ((stored,),) = [[d for d in a.deliveries] for a in AlertOutbox(tmp_path / "db").recent()]
    assert (stored.state, stored.attempts, stored.last_error) == ("sent", 4, None)


def test_a_delivery_that_keeps_failing_is_given_up(clock: VirtualClock, fake: FakeSend,
                                                   tmp_path: Path) -> None:  # fmt: skip
    fake.failures = 10_000
    run(clock, tmp_path / "db", config(retry_for_s="1h"), one_offline(clock, 3 * 3600))
    ((stored,),) = [[d for d in a.deliveries] for a in AlertOutbox(tmp_path / "db").recent()]
    assert stored.state == "failed" and "HTTP 500" in (stored.last_error or "")
    assert 8 <= stored.attempts <= 12  # 5 s doubling to 15 min within the hour


def test_queued_alerts_go_out_after_a_restart(clock: VirtualClock, fake: FakeSend,
                                              tmp_path: Path) -> None:  # fmt: skip
    fake.failures = 10_000

    async def down(n: Notifier) -> None:
        n.notify(device_offline("east", 300, clock.now()))
        await clock.sleep(30)
        n.notify(device_offline("west", 300, clock.now()))  # queued, stopped before routing

    run(clock, tmp_path / "db", config(), down)
    assert {k for _, k, _ in fake.calls} == {"device_offline"}
    fake.failures, fake.calls = 0, []
    clock.step(0)

    async def up(n: Notifier) -> None:
        await clock.sleep(30)

    run(clock, tmp_path / "db", config(), up)
    assert sorted(fake.calls)[0][:2] == ("ops", "device_offline") and len(fake.calls) == 2
    assert all(d.state == "sent" for a in AlertOutbox(tmp_path / "db").recent()
               for d in a.deliveries)  # fmt: skip


def test_an_alert_queued_by_the_supervisor_is_judged_and_sent(clock: VirtualClock,
                                                             fake: FakeSend, tmp_path: Path
                                                             ) -> None:  # fmt: skip
    crash = daemon_restarted("engine", "signal SIGKILL", clock.now())
    raise_elsewhere(tmp_path / "db", crash)
    raise_elsewhere(tmp_path / "db", crash)  # a crash loop: the same alert again

    async def scenario(n: Notifier) -> None:
        await clock.sleep(5)

    run(clock, tmp_path / "db", config(), scenario)
    assert [k for _, k, _ in fake.calls] == ["daemon_restarted"]
    states = [a.to_dict(SH)["state"] for a in AlertOutbox(tmp_path / "db").recent()]
    assert states == ["deduplicated", "routed"]


def test_an_all_clear_goes_where_its_fault_went(clock: VirtualClock, fake: FakeSend,
                                               tmp_path: Path) -> None:  # fmt: skip
    channels = [{"name": "boss", "type": "webhook", "url": "http://h/",
                 "min_severity": "critical"}]  # fmt: skip

    async def scenario(n: Notifier) -> None:
        n.notify(device_offline("east", 300, clock.now()))
        await clock.sleep(1)
        n.notify(device_back("east", 400, clock.now() + timedelta(seconds=1)))
        n.notify(relay_confirmed("west", clock.now()))  # info, and clears nothing
        await clock.sleep(5)

    run(clock, tmp_path / "db", config(channels=channels), scenario)
    assert [k for _, k, _ in fake.calls] == ["device_offline", "device_back"]
