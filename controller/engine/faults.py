"""The station's faults in the operator's words: the status (as /api/status carries it) in, a
list worst first out, for the banner at the top of 总览. Pure; raw error text only in `detail`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Literal, TypedDict

Severity = Literal["air", "device", "screen", "disk", "notice"]
# air: what airs now or next is at risk; device: a relay board nothing airs through; screen: an
# LED screen; disk: the air-check disk; notice: a fault of the last day that is over.
SEVERITIES: tuple[Severity, ...] = ("air", "device", "screen", "disk", "notice")
MAX_NOTICES = 3

# What a past fault (status `faults`, "中文 / English" texts the station writes) was, in words
# for the operator: (pattern on the raw text, plain text; {0} is the pattern's first group).
NOTICES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"静音超过 ?([\d.]+) ?秒"), "播出中静音超过 {0} 秒"),
    (re.compile(r"迟播 ?(\d+) ?毫秒"), "播出开始晚了 {0} 毫秒"),
    (re.compile(r"削波"), "播出的声音削波（失真）"),
    (re.compile(r"播出记录写入出错"), "播出记录写不进去，已安全停播"),
    (re.compile(r"时钟跳变"), "系统时钟跳变"),
)


class Fault(TypedDict):
    severity: Severity
    text: str  # plain Chinese, no error codes
    target: str | None  # the console section: zone:<id>, device:<id>, display:<id>, airing:<id>,
    # amplifiers, mqtt, record, storage
    detail: str | None  # the raw error text, for the 详情 toggle


def faults_summary(status: Mapping[str, Any], *, silence_s: float | None = None) -> list[Fault]:
    """Every fault the status shows, worst first: severity, then the order found below (what
    is failing on air now before what puts the next airing at risk)."""
    now = _instant(status.get("now"))
    found = [
        *_dead_air(status, silence_s),
        *_zones_not_on(status),
        *_amplifiers(status),
        *_record(status, now),
        *_mqtt(status),
        *_devices(status, now),
        *_screens(status),
        *_storage(status),
        *_notices(status),
    ]
    return sorted(found, key=lambda f: SEVERITIES.index(f["severity"]))


def _fault(severity: Severity, text: str, target: str | None, detail: Any = None) -> Fault:
    raw = str(detail).strip() if detail not in (None, "") else None
    return {"severity": severity, "text": text, "target": target, "detail": raw}


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a list from the status; anything else (absent, malformed) is none."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _name(value: Any, fallback: str) -> str:
    text = " ".join(str(value).split()) if value not in (None, "") else fallback
    return text[:40]


def _slot(airing: Mapping[str, Any]) -> str:
    return f"「{_name(airing.get('slot'), '插播')}」"


def _dead_air(status: Mapping[str, Any], silence_s: float | None) -> Iterator[Fault]:
    silent = status.get("dead_air")
    ids = {str(i) for i in silent} if isinstance(silent, list) else set()
    for airing in _dicts(status.get("on_air")):
        if str(airing.get("id")) not in ids and airing.get("dead_air") is not True:
            continue
        how = f"静音超过 {silence_s:g} 秒" if silence_s else "没有声音（静音）"
        raw = _latest(status, str(airing.get("id")), "静音")
        yield _fault("air", f"正在播出的{_slot(airing)}{how}", f"airing:{airing.get('id')}", raw)


def _zones_not_on(status: Mapping[str, Any]) -> Iterator[Fault]:
    """Zones of an airing on air whose relay did not confirm ON."""
    errors = _device_errors(status)
    relays = {str(z.get("id")): _dicts(z.get("relays")) for z in _dicts(status.get("zones"))}
    for airing in _dicts(status.get("on_air")):
        for zone in _dicts(airing.get("zones")):
            if zone.get("relay") != "failed":
                continue
            zone_id = str(zone.get("id"))
            devices = {_device_of(r.get("relay")) for r in relays.get(zone_id, [])}
            raw = "\n".join(e for d in sorted(devices) if (e := errors.get(d))) or None
            text = f"{_name(zone.get('name'), zone_id)}喇叭没有打开，{_slot(airing)}在这里没有播出"
            yield _fault("air", text, f"zone:{zone_id}", raw)


def _amplifiers(status: Mapping[str, Any]) -> Iterator[Fault]:
    amps = _dicts(status.get("amplifiers"))
    for n, amp in enumerate(amps, 1):
        if amp.get("failed"):
            which = f"{n} 号功放" if len(amps) > 1 else "功放"
            yield _fault("air", f"{which}未确认开启", "amplifiers", amp.get("failed"))


def _record(status: Mapping[str, Any], now: datetime | None) -> Iterator[Fault]:
    record = status.get("record")
    if not isinstance(record, Mapping) or record.get("ok") is not False:
        return
    text = "播出记录写不进磁盘"
    pending = record.get("pending")
    if isinstance(pending, int) and pending > 0:
        text += f"，{pending} 条等待写入"
    if lasted := _lasted(_instant(record.get("since")), now):
        text += f"（已 {lasted}）"
    yield _fault("air", text, "record", record.get("fault"))


def _mqtt(status: Mapping[str, Any]) -> Iterator[Fault]:
    mqtt = status.get("mqtt")
    if dataclasses.is_dataclass(mqtt) and not isinstance(mqtt, type):
        mqtt = dataclasses.asdict(mqtt)  # the engine's own status holds the connection's health
    if isinstance(mqtt, Mapping) and mqtt.get("connected") is False:
        text = "连不上消息服务器（MQTT），无线继电器和屏幕收不到命令"
        yield _fault("air", text, "mqtt", mqtt.get("last_error"))


def _devices(status: Mapping[str, Any], now: datetime | None) -> Iterator[Fault]:
    """Relay boards that say they are offline, named by what they switch."""
    zones_of: dict[str, list[str]] = {}
    for zone in _dicts(status.get("zones")):
        for relay in _dicts(zone.get("relays")):
            names = zones_of.setdefault(_device_of(relay.get("relay")), [])
            name = _name(zone.get("name"), str(zone.get("id")))
            if name not in names:
                names.append(name)
    amps = {_device_of(a.get("relay")) for a in _dicts(status.get("amplifiers"))}
    for device in _dicts(status.get("devices")):
        if device.get("available") is not False:
            continue  # True, or None: this device cannot tell (the MQTT fault says why)
        device_id = str(device.get("id"))
        serves = []
        if zones_of.get(device_id):
            serves.append(f"{'、'.join(zones_of[device_id])}喇叭")
        if device_id in amps:
            serves.append("功放电源")
        lasted = _lasted(_instant(device.get("offline_since")), now)
        offline = "离线" + (f" {lasted}" if lasted[:1].isdigit() else lasted)
        if serves:
            text = f"{'和'.join(serves)}的继电器{offline}"
        else:
            text = f"继电器 {_name(device_id, '?')} {offline}"
        yield _fault("air" if serves else "device", text, f"device:{device_id}",
                     device.get("last_error"))  # fmt: skip


def _screens(status: Mapping[str, Any]) -> Iterator[Fault]:
    for screen in _dicts(status.get("displays")):
        screen_id = _name(screen.get("id"), "?")
        if screen.get("available") is False:
            text = f"LED 屏幕 {screen_id} 离线"
        elif screen.get("mode") == "error":
            text = f"LED 屏幕 {screen_id} 显示不了文字"
        else:
            continue
        yield _fault("screen", text, f"display:{screen.get('id')}", screen.get("last_error"))


def _storage(status: Mapping[str, Any]) -> Iterator[Fault]:
    storage = status.get("storage")
    if not isinstance(storage, Mapping) or storage.get("ok") is not False:
        return
    free = storage.get("free_gb")
    left = f"（剩余 {free:.1f} GB）" if isinstance(free, int | float) else ""
    yield _fault("disk", f"录音磁盘空间不足{left}", "storage", storage.get("warning"))


def _notices(status: Mapping[str, Any]) -> Iterator[Fault]:
    """The last few past faults, each once; silence still going on is a fault above already."""
    silent = status.get("dead_air")
    live = [str(i) for i in silent] if isinstance(silent, list) else []
    seen: set[str] = set()
    shown = 0
    for entry in reversed(_dicts(status.get("faults"))):
        raw = str(entry.get("text") or "")
        if "静音" in raw and any(i in raw for i in live):
            continue
        text = _plain(raw)
        at = _wall(entry.get("at"))
        if text in seen:
            continue
        seen.add(text)
        yield _fault("notice", f"{at} {text}" if at else text, None, raw)
        shown += 1
        if shown == MAX_NOTICES:
            return


def _plain(raw: str) -> str:
    for pattern, words in NOTICES:
        if m := pattern.search(raw):
            return words.format(*m.groups())
    return "播出出现异常"


def _latest(status: Mapping[str, Any], airing_id: str, word: str) -> str | None:
    for entry in reversed(_dicts(status.get("faults"))):
        raw = str(entry.get("text") or "")
        if airing_id in raw and word in raw:
            return raw
    return None


def _device_errors(status: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(d.get("id")): str(d["last_error"])
        for d in _dicts(status.get("devices"))
        if d.get("last_error")
    }


def _device_of(ref: Any) -> str:
    return str(ref).rpartition(":")[0] or str(ref)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _wall(value: Any) -> str:
    """The wall clock ("07:51") of an ISO instant in the station's offset, as the status has it."""
    moment = _instant(value)
    return moment.strftime("%H:%M") if moment else ""


def _lasted(since: datetime | None, now: datetime | None) -> str:
    """How long since `since`: "12 分钟", "2 小时 5 分钟", "3 天"; "" if either is unknown."""
    if since is None or now is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return "不到 1 分钟"
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时" + (f" {rest} 分钟" if rest else "")
    return f"{hours // 24} 天"
