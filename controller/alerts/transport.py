"""One delivery attempt on one channel, blocking, bounded by the channel's timeout: an HTTP
POST (webhook, WeCom, DingTalk) or an SMTP session. Runs only on the notifier's own threads;
what it says about a failure never holds a secret (addresses carry the robots' keys).
"""

from __future__ import annotations

import contextlib
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from controller.alerts import formats
from controller.alerts.events import Alert
from controller.config.alerts import (
    Channel,
    DingtalkChannel,
    EmailChannel,
    WebhookChannel,
    WecomChannel,
)

MAX_ANSWER = 64 * 1024
USER_AGENT = "broadcastctl-alerts/1"


class SendFailed(Exception):
    """The attempt did not get the message through; the text is safe to store and show."""


def send(ch: Channel, alert: Alert, station: str, now: datetime, local: datetime) -> None:
    """Deliver `alert` on `ch` or raise SendFailed (said Chinese first, secrets removed)."""
    try:
        if isinstance(ch, EmailChannel):
            _smtp(ch, alert, station, local)
            return
        if isinstance(ch, WebhookChannel):
            request = formats.webhook_request(ch, alert, station, local)
        elif isinstance(ch, WecomChannel):
            request = formats.wecom_request(ch, alert, station)
        else:
            request = formats.dingtalk_request(ch, alert, station, now)
        _post(request, ch.timeout_s)
    except formats.NotSendable as exc:
        raise SendFailed(str(exc)) from None
    except SendFailed as exc:
        raise SendFailed(scrub(str(exc), ch)) from None
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        raise SendFailed(scrub(_why(exc), ch)) from None


def _post(request: formats.HttpRequest, timeout_s: float) -> None:
    req = urllib.request.Request(
        request.url, data=request.body, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as answer:  # http(s): checked in config
            body = answer.read(MAX_ANSWER)
    except urllib.error.HTTPError as exc:
        code = exc.code
        raise SendFailed(f"对方回复 HTTP {code} / the receiver answered HTTP {code}") from None
    if request.expects_errcode:
        _robot_took(body)


def _robot_took(body: bytes) -> None:
    """The robots answer HTTP 200 either way; `errcode` 0 says the message was taken."""
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise SendFailed("机器人回复无法识别 / the robot's answer is not JSON")
    code = answer.get("errcode")
    if code != 0:
        said = str(answer.get("errmsg", ""))[:200]
        raise SendFailed(f"机器人拒收：errcode {code} {said} / the robot refused the message")


def _smtp(ch: EmailChannel, alert: Alert, station: str, local: datetime) -> None:
    message = EmailMessage()
    message["Subject"] = formats.email_subject(alert, station)
    message["From"] = ch.sender
    message["To"] = ", ".join(ch.to)
    message["Date"] = formatdate(local.timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain=ch.sender.rpartition("@")[2] or None)
    message.set_content(formats.email_body(alert, station, local))
    password = formats.resolve(ch.password, "SMTP 密码") if ch.password else None
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if ch.security == "ssl":
        client = smtplib.SMTP_SSL(ch.host, ch.port, timeout=ch.timeout_s, context=context)
    else:
        client = smtplib.SMTP(ch.host, ch.port, timeout=ch.timeout_s)
    with client:
        if ch.security == "starttls":
            client.starttls(context=context)
        if ch.username and password:
            client.login(ch.username, password)
        client.send_message(message)


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "对方无应答（超时）/ no answer in time"
    if isinstance(exc, urllib.error.URLError):
        return f"连接失败：{exc.reason} / could not connect: {exc.reason}"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝 / connection refused"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "邮件服务器拒绝登录 / the SMTP server refused the login"
    if isinstance(exc, smtplib.SMTPException):
        return f"邮件发送失败：{exc} / SMTP failed: {exc}"
    return f"发送失败：{exc} / sending failed: {exc}"


def scrub(text: str, ch: Channel) -> str:
    """`text` without any secret of `ch` (nor what its env: references hold)."""
    secrets: list[str] = []
    for value in _secret_values(ch):
        secrets.append(value)
        with contextlib.suppress(formats.NotSendable):
            secrets.append(formats.resolve(value, ""))
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text[:500]


def _secret_values(ch: Channel) -> list[str]:
    if isinstance(ch, EmailChannel):
        return [ch.password] if ch.password else []
    found = [ch.url]
    if isinstance(ch, DingtalkChannel) and ch.secret:
        found.append(ch.secret)
    return found
