"""The daily summary: the day's compliance in plain Chinese, sent at `alerts.summary_at`.

`summary_text` is pure (the compliance report in, the words out); `DailySummary` waits on the
clock for the station time and has the day's report made on the notifier's database thread
(by the function the engine hands it: records/compliance, a layer this package cannot see).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from controller.alerts.events import Alert, daily_summary
from controller.alerts.notifier import Notifier
from controller.config.alerts import Severity
from controller.core.stationtime import day as day_range

LOSS_ZH = {
    "blacked_out": "静默期", "missed": "漏播", "failed": "失败", "cut": "被截断",
    "preempted": "被占用", "stopped": "被停止", "open": "未结束",
}  # fmt: skip


class ZoneDay(Protocol):
    """One zone's day as records/compliance reports it (the fields the summary reads)."""

    @property
    def zone(self) -> str: ...
    @property
    def planned_min(self) -> float: ...
    @property
    def aired_min(self) -> float: ...
    @property
    def extra_min(self) -> float: ...
    @property
    def lost(self) -> Mapping[str, float]: ...
    @property
    def lost_min(self) -> float: ...


# The compliance report of the instants [begin, until): one station day.
DayReport = Callable[[datetime, datetime], Sequence[ZoneDay]]


def summary_text(station: str, day: date, report: Sequence[ZoneDay],
                 zone_names: dict[str, str]) -> tuple[str, Severity]:  # fmt: skip
    """The summary, and how bad the day was: info if everything planned aired, warning if
    something was lost to a blackout only, critical if anything was missed or failed."""
    planned = sum(z.planned_min for z in report)
    aired = sum(z.aired_min for z in report)
    lines = [
        f"{station} {day:%Y年%m月%d日} 播出日报：计划 {planned:.0f} 分钟，"
        f"实播 {aired:.0f} 分钟" + (f"（{aired / planned:.0%}）" if planned else "") + "。"
    ]
    worst: Severity = "info"
    for zone in report:
        if zone.lost_min < 0.5:
            continue
        lost = "，".join(
            f"{LOSS_ZH.get(kind, kind)} {minutes:.0f} 分钟"
            for kind, minutes in sorted(zone.lost.items())
            if minutes >= 0.5
        )
        name = zone_names.get(zone.zone, zone.zone)
        lines.append(f"· {name}：少播 {zone.lost_min:.0f} 分钟（{lost}）")
        bad = set(zone.lost) - {"blacked_out"}
        worst = "critical" if bad else max(worst, "warning", key=_rank)
    extra = sum(z.extra_min for z in report)
    if extra >= 0.5:
        lines.append(f"另有插播 {extra:.0f} 分钟。")
    if len(lines) == 1 and planned:
        lines.append("全部按计划播出。")
    if not planned:
        lines.append("今日无计划播出。")
    english = f"daily summary {day.isoformat()}: planned {planned:.0f} min, aired {aired:.0f} min"
    return "\n".join(lines) + f"\n/ {english}", worst


def _rank(severity: Severity) -> int:
    return ("info", "warning", "critical").index(severity)


def next_summary(now: datetime, at: time, tz: tzinfo) -> datetime:
    """The next instant the station's clock shows `at`, after `now`."""
    local = now.astimezone(tz)
    when = datetime.combine(local.date(), at, tzinfo=tz)
    if when <= local:
        when = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return when


class DailySummary:
    def __init__(self, notifier: Notifier, report: DayReport, zone_names: dict[str, str],
                 at: time) -> None:  # fmt: skip
        self._n, self._report, self._zones, self._at = notifier, report, zone_names, at

    async def run(self) -> None:
        clock, tz = self._n.clock, self._n.tz
        while True:
            when = next_summary(clock.now(), self._at, tz)
            if await clock.wait_wall(when):
                self._n.notify(await self.build(when.date()))

    async def build(self, day: date) -> Alert:
        db = await self._n.db()
        begin, until = day_range(day, self._n.tz)
        report = await db.call(self._report, begin, until)
        text, worst = summary_text(self._n.station, day, report, self._zones)
        return daily_summary(day.isoformat(), text, self._n.clock.now(), worst)
