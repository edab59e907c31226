"""Text tables for the terminal: the plan preview and the as-run record, every time on the
station's clock."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import tzinfo

from controller.core.stationtime import for_people
from controller.planning.planner import Airing
from controller.records.asrun_store import AsRunRow

_STATUS = {"scheduled": "播出", "cut": "中途静默", "blackout": "静默"}
_HMS = "%H:%M:%S"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(_width(c) for c in col) for col in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(_pad(c, w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plan_table(airings: Sequence[Airing], zone_names: dict[str, str], tz: tzinfo) -> str:
    if not airings:
        return "范围内没有播出 / no airings in this range"
    rows = []
    for a in airings:
        when = f"{for_people(a.start, tz, _HMS)}-{for_people(a.end, tz, _HMS)}"
        for i, z in enumerate(a.zones):
            detail = _STATUS[z.status]
            if z.status == "cut":
                detail += f" {for_people(z.end, tz, _HMS)} ({z.blackout})"
            elif z.status == "blackout":
                detail += f" ({z.blackout})"
            first = i == 0
            rows.append(
                [
                    for_people(a.start, tz, "%Y-%m-%d %a") if first else "",
                    when if first else "",
                    a.slot if first else "",
                    a.playlist if first else "",
                    f"{zone_names.get(z.zone, z.zone)} ({z.zone})",
                    detail,
                ]
            )
    return render(
        ["日期 date", "时间 time", "时段 slot", "节目单 playlist", "区域 zone", "状态 status"], rows
    )


def asrun_table(rows: Sequence[AsRunRow], tz: tzinfo) -> str:
    if not rows:
        return "范围内没有播出记录 / no as-run rows in this range"
    body = [
        [
            for_people(r.planned_start, tz),
            r.slot,
            r.zone,
            r.outcome or "(进行中 open)",
            for_people(r.audio_start, tz, "%H:%M:%S.%f"),
            for_people(r.audio_end, tz, "%H:%M:%S.%f"),
            r.relay_on or "",
            str(len(r.clips)),
            r.reason,
        ]
        for r in rows
    ]
    header = [
        "计划开始 planned",
        "时段 slot",
        "区域 zone",
        "结果 outcome",
        "音频开始 audio start",
        "音频结束 audio end",
        "继电器 relay",
        "片段 clips",
        "原因 reason",
    ]
    return render(header, body)
