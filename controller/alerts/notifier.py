"""The engine's notifier: takes alerts from anywhere without waiting, queues them in the
database, and sends each on every channel in a lane of its own, rate-limited and retried.

`notify` only appends to a list and wakes the router: it is safe from the event loop, from
any thread, before `start` and after `stop`, and never blocks the caller (DESIGN.md §2.10).
The router (an asyncio task) writes the alerts on the notifier's database thread, deciding
on the way what is a repeat (policy.admit); each channel's lane sends its due deliveries on
a thread of its own, so a receiver that hangs holds up only that channel, for its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from controller.alerts import transport
from controller.alerts.events import SEVERITIES, Alert
from controller.alerts.outbox import REPEATED, SENT_OUT, AlertOutbox, StoredAlert
from controller.alerts.policy import RateWindow, admit, backoff_s
from controller.alerts.worker import Worker
from controller.config.alerts import AlertsConfig, Channel, Severity
from controller.core.clock import Clock, waiting

log = logging.getLogger(__name__)
POLL_S = 15.0  # how often the router looks for alerts another process queued (a crash)


class Notifier:
    def __init__(self, cfg: AlertsConfig, station: str, tz: tzinfo, db_path: Path, clock: Clock,
                 *, sends_hold_clock: bool = False) -> None:  # fmt: skip
        """`sends_hold_clock` only for tests whose sends are instant fakes: a virtual clock
        then waits for each, so their instants are exact."""
        self.cfg, self.station, self.tz = cfg, station, tz
        self.sends_hold_clock = sends_hold_clock
        self.clock = waiting(clock)
        self.outbox = AlertOutbox(db_path)
        self._lock = threading.Lock()
        self._queued: list[Alert] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._db: Worker | None = None
        self._lanes = {ch.name: _Lane(self, ch) for ch in cfg.channels}
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0  # repeats of an open alert, not stored

    # -- raising -------------------------------------------------------------------------------

    def notify(self, alert: Alert) -> None:
        with self._lock:
            self._queued.append(alert)
            del self._queued[:-1000]  # a flood of repeats is not worth the memory
            loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: it is sent after a restart
                loop.call_soon_threadsafe(self._wake.set)

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._db = Worker("alerts db", self.clock, holds_clock=True)
        self._tasks = [asyncio.create_task(self._route_forever(), name="alerts router")]
        for lane in self._lanes.values():
            lane.start()
            self._tasks.append(asyncio.create_task(lane.run(), name=f"alerts {lane.ch.name}"))
        self._wake.set()

    async def stop(self) -> None:
        """Stop at once: what is not sent yet stays queued in the database for the next start
        (what `notify` was given since the last routing is written first)."""
        with self._lock:
            self._loop = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._db is not None:
            try:
                await self._db.call(self._route_queued)
            except Exception:
                log.exception("alerts: queued alerts not saved at shutdown")
            await self._db.call(self.outbox.close)
            self._db.close()
        for lane in self._lanes.values():
            lane.close()

    async def db(self) -> Worker:
        """The notifier's database thread (the sources read the record on it too)."""
        assert self._db is not None, "the notifier is not started"
        return self._db

    # -- routing (on the database thread) -----------------------------------------------------

    async def _route_forever(self) -> None:
        db = await self.db()
        while True:
            await self.clock.wait_event(self._wake, POLL_S)
            self._wake.clear()
            try:
                routed = await db.call(self._route_queued)
            except Exception:  # the database is busy or broken: try again later, never raise
                log.exception("alerts: routing failed; alerts stay queued")
                routed = 0
            if routed:
                for lane in self._lanes.values():
                    lane.wake.set()

    def _route_queued(self) -> int:
        with self._lock:
            batch, self._queued = self._queued, []
        routed = 0
        for alert in batch:
            routed += self._judge(alert, None)
        for stored in self.outbox.unrouted():
            routed += self._judge(stored.alert, stored.id)
        return routed

    def _judge(self, alert: Alert, stored_id: int | None) -> int:
        last = self.outbox.last_sent(alert.key)
        if not admit(alert, last, self.cfg.repeat_after_s):
            if stored_id is not None:
                self.outbox.repeated(stored_id)
            else:
                self.dropped += 1
            return 0
        severity = last.severity if alert.clears and last is not None else alert.severity
        names = [c.name for c in self.cfg.channels if _reaches(severity, c)]
        alert_id = self.outbox.add(alert, SENT_OUT) if stored_id is None else stored_id
        self.outbox.route(alert_id, names, self.clock.now())
        log.warning("alert %s: %s → %s", alert.kind, alert.text, ", ".join(names) or "(no channel)")
        return 1


def _reaches(severity: Severity, ch: Channel) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(ch.min_severity)


class _Lane:
    """One channel: its due deliveries, oldest first, within its rate, retried with backoff."""

    def __init__(self, notifier: Notifier, ch: Channel) -> None:
        self.n, self.ch = notifier, ch
        self.window = RateWindow(ch.max_per_minute)
        self.wake = asyncio.Event()
        self._sender: Worker | None = None

    def start(self) -> None:
        self.wake = asyncio.Event()
        name, holds = f"alerts → {self.ch.name}", self.n.sends_hold_clock
        self._sender = Worker(name, self.n.clock, holds_clock=holds)

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()

    async def run(self) -> None:
        db, clock = await self.n.db(), self.n.clock
        while True:
            # Stored instants keep microseconds: a reading a fraction of one before a retry's
            # time would find nothing due and wait for nothing.
            now = clock.now() + timedelta(microseconds=1)
            try:
                for stored in await db.call(self.n.outbox.due, self.ch.name, now):
                    await self._deliver(db, stored)
                upcoming = await db.call(self.n.outbox.next_due, self.ch.name)
            except Exception:
                log.exception("alerts: channel %s could not read its queue", self.ch.name)
                upcoming = None
            wait = POLL_S * 4
            if upcoming is not None:
                wait = min(wait, max((upcoming - clock.now()).total_seconds(), 0.001))
            await clock.wait_event(self.wake, wait)
            self.wake.clear()

    async def _deliver(self, db: Worker, stored: StoredAlert) -> None:
        clock, alert = self.n.clock, stored.alert
        free = self.window.free_at(clock.monotonic())
        if free > clock.monotonic():
            await clock.sleep_until(free)
        self.window.took(clock.monotonic())
        started = clock.now()
        error = await self.attempt(alert, started)
        delivery = next(d for d in stored.deliveries if d.channel == self.ch.name)
        attempts = delivery.attempts + 1
        retry_at: datetime | None = None
        if error is not None:
            retry_at = started + timedelta(seconds=backoff_s(attempts))
            if (retry_at - alert.at).total_seconds() > self.n.cfg.retry_for_s:
                retry_at = None
            log.warning("alert %d on %s, attempt %d: %s%s", stored.id, self.ch.name, attempts,
                        error, "" if retry_at else " (given up)")  # fmt: skip
        await db.call(self.n.outbox.attempted, stored.id, self.ch.name, error=error,
                      at=started, retry_at=retry_at)  # fmt: skip

    async def attempt(self, alert: Alert, now: datetime) -> str | None:
        """One try on this channel: None if it went through, else why not (no secrets)."""
        assert self._sender is not None
        local = alert.at.astimezone(self.n.tz)
        try:
            await self._sender.call(transport.send, self.ch, alert, self.n.station, now, local)
        except transport.SendFailed as exc:
            return str(exc)
        except Exception as exc:  # a bug must not stop the lane
            log.exception("alerts: channel %s failed unexpectedly", self.ch.name)
            return transport.scrub(f"内部错误 / internal error: {type(exc).__name__}", self.ch)
        return None


__all__ = ["REPEATED", "Notifier"]
