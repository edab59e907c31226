"""The notifier as the engine runs it: built with its sources, started before the station (so
the start-up's missed airings are told) and stopped after it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.alerts.notifier import Notifier
from controller.alerts.sources import (
    DeviceWatch,
    DiskWatch,
    HasHealth,
    RelayObserver,
    outcome_observer,
    relay_observer,
)
from controller.alerts.summary import DailySummary, DayReport
from controller.config.models import Config
from controller.core.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class AlertService:
    notifier: Notifier
    watch: DeviceWatch
    summary: DailySummary | None
    disk: DiskWatch | None = None  # set when the audio output keeps air-checks on a disk
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def relay_observer(self, inner: RelayObserver | None) -> RelayObserver:
        return relay_observer(self.notifier, self.watch.devices, inner)

    def outcome_observer(self) -> Callable[[str, str, str], None]:
        return outcome_observer(self.notifier)

    async def start(self) -> None:
        await self.notifier.start()
        self.tasks = [asyncio.create_task(self._guarded(self.watch.run()), name="alerts watch")]
        if self.summary is not None:
            self.tasks.append(
                asyncio.create_task(self._guarded(self.summary.run()), name="alerts summary")
            )
        if self.disk is not None:
            self.tasks.append(
                asyncio.create_task(self._guarded(self.disk.run()), name="alerts disk")
            )

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
        await self.notifier.stop()

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:  # a source that fails says so; the air never hears of it
            log.exception("alerts: a source stopped")


def build_alerts(
    cfg: Config,
    db_path: Path,
    clock: Clock,
    devices: Mapping[str, HasHealth],
    report: DayReport,
) -> AlertService:
    notifier = Notifier(cfg.alerts, cfg.station.name, cfg.station.tz, db_path, clock)
    summary = None
    if cfg.alerts.summary_at is not None:
        names = {z.id: z.name for z in cfg.zones}
        summary = DailySummary(notifier, report, names, cfg.alerts.summary_at)
    return AlertService(notifier, DeviceWatch(notifier, devices), summary)
