"""Each channel's message, as its vendor documents it: the request to send, built from an alert.
Pure: no sockets here (controller/alerts/transport.py sends what these build).

- Generic webhook: our own JSON object (`WEBHOOK_FIELDS`), POSTed as application/json.
- 企业微信 group robot, "群机器人配置说明" (https://developer.work.weixin.qq.com/document/path/91770):
  POST JSON `{"msgtype": "text", "text": {"content", "mentioned_mobile_list"}}` to the
  robot's webhook address; content at most 2048 bytes of UTF-8; the answer is
  `{"errcode": 0, "errmsg": "ok"}`; a robot takes at most 20 messages a minute.
- 钉钉 custom robot, "自定义机器人发送群消息" and its security settings, "加签"
  (https://open.dingtalk.com/document/robots/custom-robot-access,
  https://open.dingtalk.com/document/robots/customize-robot-security-settings): POST JSON
  `{"msgtype": "text", "text": {"content"}, "at": {"atMobiles", "isAtAll"}}`; with a secret,
  `timestamp` (milliseconds) and `sign` are added to the address, where sign is the
  URL-encoded Base64 of HmacSHA256(key = secret, message = timestamp + "\\n" + secret), UTF-8;
  the timestamp must be within an hour of the robot's clock. The answer is `{"errcode": 0}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote_plus

from controller.alerts.events import SEVERITY_ZH, Alert
from controller.config.alerts import (
    ENV_PREFIX,
    DingtalkChannel,
    WebhookChannel,
    WecomChannel,
    url_problem,
)

WEBHOOK_FIELDS = ("station", "kind", "subject", "severity", "text", "at", "clears", "test")
WECOM_MAX_BYTES = 2048


class NotSendable(Exception):
    """The channel cannot be used as configured (an env: reference unset, a bad address)."""


@dataclass(frozen=True)
class HttpRequest:
    url: str
    body: bytes
    expects_errcode: bool  # the robots answer {"errcode": 0} when they took the message


def resolve(value: str, what: str) -> str:
    """A config value, or the environment variable it names (`env:NAME`)."""
    if not value.startswith(ENV_PREFIX):
        return value
    name = value.removeprefix(ENV_PREFIX)
    found = os.environ.get(name)
    if not found:
        raise NotSendable(f"环境变量 {name} 未设置（{what}）/ environment variable {name} unset")
    return found


def _address(value: str) -> str:
    url = resolve(value, "地址")
    if value.startswith(ENV_PREFIX) and url_problem(url):
        raise NotSendable(f"环境变量 {value.removeprefix(ENV_PREFIX)} 不是 http(s) 网址"
                          " / the environment variable is not an http(s) address")  # fmt: skip
    return url


def headline(alert: Alert, station: str) -> str:
    """What people read first: station, severity, the alert's text."""
    return f"【{station}·{SEVERITY_ZH[alert.severity]}】{alert.text}"


def clipped(text: str, limit_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit_bytes:
        return text
    return data[: limit_bytes - 3].decode("utf-8", "ignore") + "…"


def webhook_request(ch: WebhookChannel, alert: Alert, station: str, local: datetime
                    ) -> HttpRequest:  # fmt: skip
    payload = {
        "station": station, "kind": alert.kind, "subject": alert.subject,
        "severity": alert.severity, "text": alert.text, "at": local.isoformat(),
        "clears": alert.clears, "test": alert.kind == "test",
    }  # fmt: skip
    return HttpRequest(_address(ch.url), _json(payload), expects_errcode=False)


def wecom_request(ch: WecomChannel, alert: Alert, station: str) -> HttpRequest:
    text: dict[str, object] = {"content": clipped(headline(alert, station), WECOM_MAX_BYTES)}
    if ch.mentioned_mobiles:
        text["mentioned_mobile_list"] = list(ch.mentioned_mobiles)
    return HttpRequest(_address(ch.url), _json({"msgtype": "text", "text": text}), True)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` parameter of the 加签 security setting, URL-encoded."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def dingtalk_request(ch: DingtalkChannel, alert: Alert, station: str, now: datetime
                     ) -> HttpRequest:  # fmt: skip
    url = _address(ch.url)
    if ch.secret is not None:
        secret = resolve(ch.secret, "钉钉加签密钥")
        timestamp = int(now.timestamp() * 1000)
        joiner = "&" if "?" in url else "?"
        url += f"{joiner}timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"
    mobiles = [m for m in ch.at_mobiles if m != "@all"]
    body = {
        "msgtype": "text",
        "text": {"content": headline(alert, station)},
        "at": {"atMobiles": mobiles, "isAtAll": "@all" in ch.at_mobiles},
    }
    return HttpRequest(url, _json(body), True)


def email_subject(alert: Alert, station: str) -> str:
    first = alert.text.split(" / ", 1)[0]
    return clipped(f"【{station}·{SEVERITY_ZH[alert.severity]}】{first}", 240)


def email_body(alert: Alert, station: str, local: datetime) -> str:
    return (
        f"{alert.text}\n\n站点 / station: {station}\n时间 / time: {local.isoformat()}\n"
        f"类别 / kind: {alert.kind}\n对象 / subject: {alert.subject}\n"
    )


def _json(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
