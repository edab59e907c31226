"""The banner's faults as pure tables: a status (as /api/status carries it) in, the operator's
plain-Chinese faults out, worst first; raw error text only ever in `detail`."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from controller.engine.faults import SEVERITIES, faults_summary
from drivers.transports.mqtt import MqttHealth

NOW = "2027-06-01T10:30:00+08:00"
ERRNO = "[Errno 111] Connection refused / 连接被拒绝 (relay villages: tele/villages/LWT Offline)"


def healthy() -> dict[str, Any]:
    """Two villages on one board, an amplifier on a rack, a screen, an MQTT broker, a disk."""
    return {
        "now": NOW,
        "on_air": [],
        "dead_air": [],
        "zones": [
            {"id": "east", "name": "东村", "relays": [{"relay": "villages:1", "state": "off"}]},
            {"id": "west", "name": "西村", "relays": [{"relay": "villages:2", "state": "off"}]},
        ],
        "amplifiers": [{"relay": "rack:1", "state": "off", "failed": None}],
        "devices": [
            {"id": "villages", "available": True, "last_error": None, "offline_since": None},
            {"id": "rack", "available": True, "last_error": None, "offline_since": None},
        ],
        "displays": [{"id": "square", "mode": "rotation", "available": True, "last_error": None}],
        "mqtt": {"connected": True, "last_error": None},
        "record": {"ok": True, "fault": None},
        "storage": {"ok": True, "warning": None, "free_gb": 120.0},
        "faults": [],
    }


def with_(change: dict[str, Any]) -> dict[str, Any]:
    """The healthy status with paths set: {"devices.0.available": False}."""
    status = healthy()
    for path, value in change.items():
        *parents, last = path.split(".")
        node: Any = status
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return status


def on_air(zone_relay: str = "confirmed", **extra: Any) -> dict[str, Any]:
    return {
        "id": "2027-06-01/午间",
        "slot": "午间",
        "phase": "on_air",
        "dead_air": False,
        "zones": [{"id": "east", "name": "东村", "relay": zone_relay, "on_air": True}],
        **extra,
    }


def down(device: str, since: str | None, error: str | None = None) -> dict[str, Any]:
    """A relay board that says it is offline (not heard from since `since`)."""
    return {"id": device, "available": False, "last_error": error, "offline_since": since}


def texts(status: dict[str, Any], **kw: Any) -> list[str]:
    return [f["text"] for f in faults_summary(status, **kw)]


def test_a_healthy_station_has_no_faults() -> None:
    assert faults_summary(healthy()) == []
    assert faults_summary({}) == []  # an engine that says nothing yet


CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str | None]]]] = [
    # (case, change to the healthy status, [(severity, text, target)])
    ("board offline for 12 minutes",
     {"devices.0": down("villages", "2027-06-01T02:18:00+00:00", ERRNO)},
     [("air", "东村、西村喇叭的继电器离线 12 分钟", "device:villages")]),
    ("amplifier board offline, since unknown", {"devices.1": down("rack", None)},
     [("air", "功放电源的继电器离线", "device:rack")]),
    ("offline for hours", {"devices.1": down("rack", "2027-06-01T07:25:00+08:00")},
     [("air", "功放电源的继电器离线 3 小时 5 分钟", "device:rack")]),
    ("offline just now", {"devices.1": down("rack", NOW)},
     [("air", "功放电源的继电器离线不到 1 分钟", "device:rack")]),
    ("a board no zone uses",
     {"devices": [{"id": "spare", "available": False, "offline_since": "2027-05-28T10:00+08:00"}]},
     [("device", "继电器 spare 离线 4 天", "device:spare")]),
    ("cannot tell (LCUS, or the broker is away): not a fault of its own",
     {"devices.0.available": None, "devices.0.last_error": ERRNO}, []),
    ("the broker is down",
     {"mqtt": {"connected": False, "last_error": "broker unreachable"}},
     [("air", "连不上消息服务器（MQTT），无线继电器和屏幕收不到命令", "mqtt")]),
    ("the record is not written",
     {"record": {"ok": False, "fault": "[Errno 28] No space left on device: 'var/db'",
                 "since": "2027-06-01T10:10:00+08:00", "pending": 4}},
     [("air", "播出记录写不进磁盘，4 条等待写入（已 20 分钟）", "record")]),
    ("a zone on air whose relay failed",
     {"on_air": [on_air("failed")], "devices.0.last_error": ERRNO},
     [("air", "东村喇叭没有打开，「午间」在这里没有播出", "zone:east")]),
    ("the amplifier did not confirm ON",
     {"on_air": [on_air()], "amplifiers.0.failed": "继电器 rack 第1路 未确认开启 / timeout"},
     [("air", "功放未确认开启", "amplifiers")]),
    ("dead air",
     {"on_air": [on_air(dead_air=True)], "dead_air": ["2027-06-01/午间"],
      "faults": [{"at": NOW, "text": "播出 2027-06-01/午间 静音超过 10 秒（第 3.0 秒起）/ "
                                     "dead air: silence for over 10 s from 3.0 s in"}]},
     [("air", "正在播出的「午间」静音超过 10 秒", "airing:2027-06-01/午间")]),
    ("a screen offline",
     {"displays.0": {"id": "square", "mode": "error", "available": False,
                     "last_error": "[Errno 113] No route to host / 无法连接 10.0.0.50:5005"}},
     [("screen", "LED 屏幕 square 离线", "display:square")]),
    ("a screen that refused its text",
     {"displays.0.mode": "error", "displays.0.last_error": "NACK 0x05"},
     [("screen", "LED 屏幕 square 显示不了文字", "display:square")]),
    ("the disk is nearly full",
     {"storage": {"ok": False, "warning": "录音磁盘剩余 0.4 GB，低于 5 GB / low disk",
                  "free_gb": 0.4}},
     [("disk", "录音磁盘空间不足（剩余 0.4 GB）", "storage")]),
    ("no recordings kept: no disk to watch", {"storage": None}, []),
    ("past faults: the last three, newest first, each once",
     {"faults": [
         {"at": "2027-06-01T07:00:02+08:00", "text": "系统时钟跳变 +5.0 秒 / wall clock stepped"},
         {"at": "2027-06-01T07:00:03+08:00", "text": "播出 x 迟播 350 毫秒 / late start 350 ms"},
         {"at": "2027-06-01T07:05:00+08:00", "text": "播出 x 音频削波（第 1.0 秒起）/ clipping"},
         {"at": "2027-06-01T07:05:09+08:00", "text": "播出 x 音频削波（第 9.0 秒起）/ clipping"},
         {"at": "2027-06-01T08:00:00+08:00", "text": "Traceback (most recent call last): ..."},
     ]},
     [("notice", "08:00 播出出现异常", None),
      ("notice", "07:05 播出的声音削波（失真）", None),
      ("notice", "07:00 播出开始晚了 350 毫秒", None)]),
]  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_fault_in_plain_chinese(
    change: dict[str, Any], expected: list[tuple[str, str, str | None]]
) -> None:
    got = faults_summary(with_(change), silence_s=10)
    assert [(f["severity"], f["text"], f["target"]) for f in got] == expected


def test_the_worst_comes_first_air_then_screens_then_disk() -> None:
    status = with_({
        "storage": {"ok": False, "warning": "low", "free_gb": 1.0},
        "displays.0.available": False,
        "faults": [{"at": NOW, "text": "系统时钟跳变 +5.0 秒"}],
        "devices": [{"id": "spare", "available": False},
                    {"id": "villages", "available": False}],
        "on_air": [on_air("failed", dead_air=True)],
        "dead_air": ["2027-06-01/午间"],
        "record": {"ok": False, "fault": "disk I/O error"},
    })  # fmt: skip
    got = faults_summary(status, silence_s=10)
    severities = [f["severity"] for f in got]
    assert severities == sorted(severities, key=SEVERITIES.index)
    assert [f["text"] for f in got] == [
        "正在播出的「午间」静音超过 10 秒",
        "东村喇叭没有打开，「午间」在这里没有播出",
        "播出记录写不进磁盘",
        "东村、西村喇叭的继电器离线",
        "继电器 spare 离线",
        "LED 屏幕 square 离线",
        "录音磁盘空间不足（剩余 1.0 GB）",
        f"{NOW[11:16]} 系统时钟跳变",
    ]


RAW = re.compile(r"errno|connection|reset|peer|file|line|script|alert|x\.py", re.I)


def _hostile() -> dict[str, Any]:
    raw = '[Errno 104] Connection reset by peer\n  File "/x.py", line 3 <script>alert(1)</script>'
    return with_({
        "devices": [{"id": "villages", "available": False, "last_error": raw},
                    {"id": "rack", "available": False, "last_error": raw}],
        "on_air": [on_air("failed")],
        "amplifiers.0.failed": raw,
        "mqtt": {"connected": False, "last_error": raw},
        "record": {"ok": False, "fault": raw, "since": "not a time", "pending": "many"},
        "displays.0": {"id": "square", "available": False, "last_error": raw},
        "storage": {"ok": False, "warning": raw, "free_gb": "lots"},
        "faults": [{"at": "yesterday", "text": raw}, {"at": None, "text": None}, "junk"],
    })  # fmt: skip


def test_raw_error_text_goes_only_into_the_detail() -> None:
    got = faults_summary(_hostile())
    assert len(got) == 9
    for fault in got:
        assert not RAW.search(fault["text"]), fault
        assert "<" not in fault["text"]
    details = [f["detail"] for f in got]
    assert sum("Errno 104" in (d or "") for d in details) == 8  # all but the empty notice
    by_target = {f["target"]: f for f in got}
    assert by_target["zone:east"]["detail"] == _hostile()["devices"][0]["last_error"]
    assert by_target["record"]["text"] == "播出记录写不进磁盘"


def test_a_malformed_status_gives_no_faults_rather_than_an_error() -> None:
    for status in ({"devices": "x", "zones": None, "on_air": [1, None], "mqtt": "down"},
                   {"record": [], "storage": 0, "displays": {"id": "square"}, "now": 5},
                   {"dead_air": "all", "faults": {"text": "x"}}):  # fmt: skip
        assert faults_summary(status) == []


def test_the_engine_s_own_mqtt_health_object_counts_too() -> None:
    status = with_({"mqtt": MqttHealth(False, "broker unreachable", 1, 0)})
    assert texts(status) == ["连不上消息服务器（MQTT），无线继电器和屏幕收不到命令"]
    assert faults_summary(status)[0]["detail"] == "broker unreachable"


def test_the_status_is_not_changed() -> None:
    status = _hostile()
    before = copy.deepcopy(status)
    faults_summary(status)
    assert status == before


def test_dead_air_without_the_threshold_still_says_silence() -> None:
    status = with_({"on_air": [on_air()], "dead_air": ["2027-06-01/午间"]})
    assert texts(status) == ["正在播出的「午间」没有声音（静音）"]
