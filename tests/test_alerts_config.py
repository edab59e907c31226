"""`alerts:` in config.yaml: no channels by default, every channel type, and hostile values
refused with `file:line: key: reason`, Chinese first."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import ConfigError, load_config

GOOD = """
alerts:
  offline_after_s: 5m
  stable_after_s: 2m
  summary_at: 20:30
  channels:
    - {name: 值班群, type: wecom, url: "env:WECOM_URL", mentioned_mobiles: ["13800001111"]}
    - {name: 钉钉, type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t",
       secret: "env:DINGTALK_SECRET", at_mobiles: ["@all"], min_severity: critical}
    - {name: ops, type: webhook, url: "http://10.0.0.9:8000/alerts", max_per_minute: 5}
    - {name: 邮件, type: email, host: smtp.example.com, port: 465, security: ssl,
       username: bot, password: "env:SMTP_PASSWORD", sender: bot@example.com,
       to: [duty@example.com]}
"""


def _with(shipped: Path, text: str) -> Path:
    shipped.write_text(shipped.read_text(encoding="utf-8") + text, encoding="utf-8")
    return shipped


def _errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.messages


def test_the_shipped_config_has_no_channels(shipped: Path) -> None:
    alerts = load_config(shipped).config.alerts
    assert alerts.channels == [] and alerts.summary_at is None
    assert alerts.offline_after_s == 300


def test_every_channel_type_and_env_references(shipped: Path) -> None:
    alerts = load_config(_with(shipped, GOOD)).config.alerts
    assert [c.type for c in alerts.channels] == ["wecom", "dingtalk", "webhook", "email"]
    assert alerts.channels[1].secret == "env:DINGTALK_SECRET"  # type: ignore[union-attr]
    assert str(alerts.summary_at) == "20:30:00" and alerts.stable_after_s == 120


@pytest.mark.parametrize(
    ("entry", "key", "said"),
    [
        ("{name: a, type: webhook, url: 'ftp://x/y'}", "url", "不是 http(s) 网址"),
        ("{name: a, type: webhook, url: 'http://'}", "url", "不是 http(s) 网址"),
        ("{name: a, type: webhook, url: 'not a url'}", "url", "不是可用的网址"),
        ("{name: a, type: webhook, url: 'http://h:99999/'}", "url", "不是可用的网址"),
        ('{name: a, type: webhook, url: "http://h/\\0x"}', "url", "U+0000"),
        ('{name: "a\\0", type: webhook, url: "http://h/"}', "name", "U+0000"),
        ('{name: a, type: dingtalk, url: "http://h/", secret: "s\\0"}', "secret", "U+0000"),
        ('{name: a, type: dingtalk, url: "http://h/", secret: "s\\x07"}', "secret", "U+0007"),
        ("{name: a, type: wecom, url: 'env:1BAD'}", "url", "不是环境变量引用"),
        ("{name: a, type: webhook, url: 'http://h/', timeout_s: .nan}", "timeout_s", "有限"),
        ("{name: a, type: webhook, url: 'http://h/', max_per_minute: 1.0e+999}",
         "max_per_minute", "不是有限数值"),
        ("{name: a, type: webhook, url: 'http://h/', max_per_minute: 1e999}", "max_per_minute",
         "should be a valid integer"),
        ("{name: a, type: wecom, url: 'http://h/', mentioned_mobiles: [abc]}",
         "mentioned_mobiles", "不是手机号"),
        ("{name: a, type: email, host: h, sender: nobody, to: [x@y.cn]}", "sender", "不是邮件地址"),
        ("{name: a, type: sms, url: 'http://h/'}", "type", "not a known type"),
    ],
)  # fmt: skip
def test_hostile_channels_are_refused(shipped: Path, entry: str, key: str, said: str) -> None:
    (message,) = _errors(_with(shipped, f"\nalerts:\n  channels:\n    - {entry}\n"))
    assert message.startswith("config.yaml:") or "config.yaml:" in message
    assert f"alerts.channels[0].{key}" in message and said in message, message


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("offline_after_s: .nan", "有限"),
        ("offline_after_s: 1.0e+999", "不是有限的时长"),
        ("offline_after_s: 1e999", "is not a duration"),
        ("stable_after_s: -5", "为负数"),
        ("repeat_after_s: 10", "太小"),
        ("summary_at: 25:00", "time of day"),
    ],
)
def test_hostile_timings_are_refused(shipped: Path, line: str, said: str) -> None:
    (message,) = _errors(_with(shipped, f"\nalerts:\n  {line}\n"))
    assert f"alerts.{line.split(':')[0]}" in message and said in message, message


def test_two_channels_with_one_name_are_refused(shipped: Path) -> None:
    text = (
        "\nalerts:\n  channels:\n    - {name: 群, type: webhook, url: 'http://h/'}\n"
        "    - {name: 群, type: wecom, url: 'http://h/'}\n"
    )
    (message,) = _errors(_with(shipped, text))
    assert "告警渠道名称重复：群" in message
