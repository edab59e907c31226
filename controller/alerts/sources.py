"""Where the engine's alerts come from: the relays' health (offline and back, with hysteresis),
relay commands that failed, airings recorded missed or failed, the air-check disk. Each source
only reads what it is handed and calls `Notifier.notify`; none waits for anything on the air's
path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from controller.alerts import events
from controller.alerts.events import relay_confirmed, relay_unconfirmed, slot_outcome
from controller.alerts.notifier import Notifier
from controller.alerts.policy import AvailabilityWatch
from drivers.relays.base import DeviceHealth

log = logging.getLogger(__name__)
WATCH_S = 1.0  # how often the devices' health is read (in memory: cheap)
DISK_S = 60.0  # how often the air-check disk is looked at (one statvfs)
RelayObserver = Callable[[str, str, float], None]


class HasHealth(Protocol):
    def health(self) -> DeviceHealth: ...


class DeviceWatch:
    """Reads every device's health each WATCH_S and says when one is offline too long, and
    when it is back for good (policy.AvailabilityWatch)."""

    def __init__(self, notifier: Notifier, devices: Mapping[str, HasHealth]) -> None:
        self._n = notifier
        self.devices = dict(devices)
        cfg = notifier.cfg
        self.watch = AvailabilityWatch(cfg.offline_after_s, cfg.stable_after_s)

    async def run(self) -> None:
        clock = self._n.clock
        db = await self._n.db()
        # Offline alerts sent before a restart without their all-clear: the "back" is owed.
        for key, _at in await db.call(self._n.outbox.open_keys, "device:"):
            device = key.removeprefix("device:")
            if device in self.devices:
                self.watch.assume_alerted(device, clock.monotonic())
        while True:
            self.tick()
            await clock.sleep(WATCH_S)

    def tick(self) -> None:
        mono = self._n.clock.monotonic()
        for device_id, device in self.devices.items():
            try:
                available = device.health().available
            except Exception:  # a driver's health must never stop the watch
                log.exception("alerts: health of %s unreadable", device_id)
                continue
            self.watch.observe(device_id, available, mono)
        for alert in self.watch.due(mono, self._n.clock.now()):
            self._n.notify(alert)


def relay_observer(
    notifier: Notifier, devices: Mapping[str, HasHealth], inner: RelayObserver | None
) -> RelayObserver:
    """A RelayBank observer that also raises "relay not confirmed" (and its all-clear on the
    device's next confirmed switch); a device known offline is the offline alert's business."""

    def observe(device_id: str, result: str, seconds: float) -> None:
        if inner is not None:
            inner(device_id, result, seconds)
        device = devices.get(device_id)
        if device is None:
            return
        now = notifier.clock.now()
        if result == "confirmed":
            notifier.notify(relay_confirmed(device_id, now))
            return
        if result != "failed":
            return
        health = device.health()
        if health.available is False:
            return
        error = health.last_error or "无应答 / no reply"
        notifier.notify(relay_unconfirmed(device_id, error, now))

    return observe


def outcome_observer(notifier: Notifier) -> Callable[[str, str, str], None]:
    """An as-run journal observer: an airing closed `missed` or `failed` is an alert (one per
    airing, however many zones its rows close)."""

    def closed(airing_id: str, outcome: str, reason: str) -> None:
        if outcome == "missed":
            notifier.notify(slot_outcome(airing_id, "missed", reason, notifier.clock.now()))
        elif outcome == "failed":
            notifier.notify(slot_outcome(airing_id, "failed", reason, notifier.clock.now()))

    return closed


class DiskReport(Protocol):
    """What DiskWatch needs of the air-check store's report (drivers/audio/retention.py)."""

    @property
    def low(self) -> bool: ...

    @property
    def dir(self) -> Path: ...

    @property
    def free_bytes(self) -> int | None: ...

    @property
    def min_free_bytes(self) -> int: ...


class DiskWatch:
    """Looks at the air-check disk every DISK_S: one alert when it is nearly full (the
    notifier keeps it to one while it lasts), its all-clear when there is room again."""

    def __init__(self, notifier: Notifier, report: Callable[[], DiskReport]) -> None:
        self._n, self._report = notifier, report
        self.low = False

    async def run(self) -> None:
        while True:
            self.tick()
            await self._n.clock.sleep(DISK_S)

    def tick(self) -> None:
        try:
            r = self._report()
        except Exception:  # statvfs of a folder that went away: said, and looked at again
            log.exception("alerts: the air-check disk is unreadable")
            return
        if r.free_bytes is None:
            return
        now, free_mb = self._n.clock.now(), r.free_bytes / 1e6
        if r.low:
            self.low = True
            self._n.notify(events.disk_low(str(r.dir), free_mb, r.min_free_bytes / 1e6, now))
        elif self.low:
            self.low = False
            self._n.notify(events.disk_ok(str(r.dir), free_mb, now))
