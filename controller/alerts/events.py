"""What an alert says: its kind, about what, how bad, the text people read and when it happened.

Each event has one constructor here, so its wording (Chinese first, then English) and its key
(what counts as "the same alert" for deduplication) are written once. Alerts that end a fault
(`clears`) share the key of the fault they end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from controller.config.alerts import Severity

Kind = Literal[
    "device_offline", "device_back", "relay_unconfirmed", "slot_missed", "slot_failed",
    "dead_air", "power_unconfirmed", "daemon_restarted", "config_refused", "disk_low",
    "daily_summary", "test",
]  # fmt: skip
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
SEVERITY_ZH = {"info": "通知", "warning": "警告", "critical": "严重"}
MAX_TEXT = 1500  # WeCom takes 2048 bytes of text; a Chinese character is 3 of them


@dataclass(frozen=True)
class Alert:
    kind: Kind
    subject: str  # what it is about: a device id, an airing id, a path, a date
    severity: Severity
    text: str  # "中文 / English", for people
    at: datetime  # aware; from the injected clock
    key: str  # the same fault has the same key: one alert while it lasts
    clears: bool = False  # the fault of `key` is over (its all-clear)

    def at_least(self, severity: Severity) -> bool:
        return SEVERITIES.index(self.severity) >= SEVERITIES.index(severity)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}" if seconds >= 60 else f"{seconds / 60:.1f}"


def device_offline(device: str, down_s: float, at: datetime, flapping: bool = False) -> Alert:
    zh = "反复掉线" if flapping else "离线"
    en = "keeps dropping offline" if flapping else "offline"
    text = (
        f"设备 {device} {zh}已 {_minutes(down_s)} 分钟"
        f" / device {device} {en} for {_minutes(down_s)} min"
    )
    return Alert("device_offline", device, "critical", text, at, f"device:{device}")


def device_back(device: str, down_s: float, at: datetime) -> Alert:
    text = (
        f"设备 {device} 已恢复在线（中断约 {_minutes(down_s)} 分钟）"
        f" / device {device} back online (down about {_minutes(down_s)} min)"
    )
    return Alert("device_back", device, "info", text, at, f"device:{device}", clears=True)


def relay_unconfirmed(device: str, error: str, at: datetime) -> Alert:
    text = f"继电器 {device} 未确认：{error}"
    if " / " not in error:
        text += f" / relay {device} not confirmed"
    return Alert("relay_unconfirmed", device, "critical", text, at, f"relay:{device}")


def relay_confirmed(device: str, at: datetime) -> Alert:
    text = f"继电器 {device} 已恢复确认 / relay {device} confirms again"
    return Alert("relay_unconfirmed", device, "info", text, at, f"relay:{device}", clears=True)


def slot_outcome(airing_id: str, outcome: Literal["missed", "failed"], reason: str,
                 at: datetime) -> Alert:  # fmt: skip
    zh = "漏播" if outcome == "missed" else "播出失败"
    en = "missed" if outcome == "missed" else "failed"
    kind: Kind = "slot_missed" if outcome == "missed" else "slot_failed"
    text = f"{zh}：{airing_id}（{reason}）/ airing {airing_id} {en}"
    return Alert(kind, airing_id, "critical", text, at, f"{kind}:{airing_id}")


def dead_air(airing_id: str, silent_s: float, at: datetime) -> Alert:
    text = (
        f"播出静音：{airing_id} 已静音 {silent_s:.0f} 秒"
        f" / dead air: {airing_id} silent for {silent_s:.0f} s"
    )
    return Alert("dead_air", airing_id, "critical", text, at, f"dead_air:{airing_id}")


def power_unconfirmed(zone: str, airing_id: str, watts: float | None, min_w: float,
                      at: datetime) -> Alert:  # fmt: skip
    seen = "无读数" if watts is None else f"{watts:.0f} W"
    seen_en = "no reading" if watts is None else f"{watts:.0f} W"
    text = (
        f"功放供电未确认：{zone}（{airing_id}）{seen}，低于 {min_w:.0f} W"
        f" / amplifier power not confirmed on {zone} ({airing_id}): {seen_en} < {min_w:.0f} W"
    )
    return Alert("power_unconfirmed", zone, "critical", text, at, f"power:{zone}:{airing_id}")


def daemon_restarted(process: str, how: str, at: datetime) -> Alert:
    name = {"engine": "播出引擎", "api": "网页接口"}.get(process, process)
    text = f"{name}异常退出（{how}），已自动重启 / {process} exited ({how}) and was restarted"
    return Alert("daemon_restarted", process, "critical", text, at, f"daemon:{process}")


def config_refused(path: str, messages: list[str], at: datetime) -> Alert:
    first = messages[0] if messages else ""
    more = f"（另有 {len(messages) - 1} 处）" if len(messages) > 1 else ""
    text = f"配置被拒绝，守护进程未启动：{first}{more} / config refused: {path}"
    return Alert("config_refused", path, "critical", text[:MAX_TEXT], at, f"config:{path}")


def disk_low(path: str, free_mb: float, min_free_mb: float, at: datetime) -> Alert:
    text = (
        f"磁盘空间不足：{path} 仅剩 {free_mb:.0f} MB（阈值 {min_free_mb:.0f} MB）"
        f" / disk nearly full: {free_mb:.0f} MB free on {path} (threshold {min_free_mb:.0f} MB)"
    )
    return Alert("disk_low", path, "warning", text, at, f"disk:{path}")


def disk_ok(path: str, free_mb: float, at: datetime) -> Alert:
    text = f"磁盘空间已恢复：{path} 剩余 {free_mb:.0f} MB / disk has room again: {free_mb:.0f} MB"
    return Alert("disk_low", path, "info", text, at, f"disk:{path}", clears=True)


def daily_summary(day: str, text: str, at: datetime, worst: Severity) -> Alert:
    return Alert("daily_summary", day, worst, text[:MAX_TEXT], at, f"summary:{day}")


def test_alert(by: str, at: datetime) -> Alert:
    stamp = at.isoformat(timespec="seconds")
    text = f"测试告警（{by} 发送）/ test alert sent by {by}"
    return Alert("test", by, "info", text, at, f"test:{by}:{stamp}")
