"""Each channel against a stand-in of its far end: the documented body shapes of the generic
webhook, the 企业微信 group robot and the 钉钉 robot (its 加签 signature checked here from the
documented formula, not with the product's code), e-mail through aiosmtpd; failures said
without secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

import pytest
from alert_receivers import MailServer, Receiver, unused_port
from pydantic import TypeAdapter

from controller.alerts.events import device_offline
from controller.alerts.transport import SendFailed, send
from controller.config.alerts import Channel

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 5, 1, 0, 30, tzinfo=UTC)
ALERT = device_offline("east", 600, NOW)
SECRET = "SECthis-is-the-robot-secret"


def channel(**fields: Any) -> Channel:
    found: Channel = TypeAdapter(Channel).validate_python({"name": "群", **fields})
    return found


def deliver(ch: Channel) -> None:
    send(ch, ALERT, "石桥镇广电站", datetime.now(UTC), NOW.astimezone(SH))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_webhook_gets_the_alert_as_json(receiver: Receiver) -> None:
    deliver(channel(type="webhook", url=receiver.url))
    (got,) = receiver.received
    assert got.headers["Content-Type"].startswith("application/json")
    assert got.body == {
        "station": "石桥镇广电站", "kind": "device_offline", "subject": "east",
        "severity": "critical", "text": ALERT.text, "at": "2027-05-01T08:30:00+08:00",
        "clears": False, "test": False,
    }  # fmt: skip


def test_wecom_robot_gets_a_text_message(receiver: Receiver) -> None:
    url = receiver.url + "?key=693a91f6-robot-key"
    deliver(channel(type="wecom", url=url, mentioned_mobiles=["13800001111"]))
    (got,) = receiver.received
    assert got.query == {"key": "693a91f6-robot-key"}
    assert set(got.body) == {"msgtype", "text"} and got.body["msgtype"] == "text"
    text = got.body["text"]
    assert text["mentioned_mobile_list"] == ["13800001111"]
    assert text["content"].startswith("【石桥镇广电站·严重】设备 east 离线")
    assert len(text["content"].encode("utf-8")) <= 2048


def test_dingtalk_robot_with_the_signed_secret(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DINGTALK_SECRET", SECRET)
    url = receiver.url + "?access_token=tok"
    before = int(time.time() * 1000)
    deliver(channel(type="dingtalk", url=url, secret="env:TEST_DINGTALK_SECRET",
                    at_mobiles=["13800001111", "@all"]))  # fmt: skip
    (got,) = receiver.received
    assert got.body == {
        "msgtype": "text",
        "text": {"content": "【石桥镇广电站·严重】" + ALERT.text},
        "at": {"atMobiles": ["13800001111"], "isAtAll": True},
    }
    assert got.query["access_token"] == "tok"
    timestamp = got.query["timestamp"]
    assert before <= int(timestamp) <= int(time.time() * 1000)  # milliseconds, now
    # The documented formula: HmacSHA256(secret, timestamp + "\n" + secret), Base64, then
    # URL-encoded in the address (parse_qs above has decoded that layer once already).
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256)
    assert got.query["sign"] == base64.b64encode(digest.digest()).decode()


def test_dingtalk_sign_is_url_encoded_in_the_address(receiver: Receiver) -> None:
    deliver(channel(type="dingtalk", url=receiver.url, secret=SECRET))
    from controller.alerts.formats import dingtalk_sign

    raw = dingtalk_sign(SECRET, 1_700_000_000_000)
    assert "+" not in raw and "/" not in raw and "=" not in raw  # all escaped
    assert unquote_plus(raw).endswith("=")  # a SHA-256 in Base64 ends in one pad


def test_a_robot_that_refuses_says_why(receiver: Receiver) -> None:
    receiver.answer = {"errcode": 310000, "errmsg": "sign not match"}
    with pytest.raises(SendFailed) as caught:
        deliver(channel(type="dingtalk", url=receiver.url + "?access_token=secret-token"))
    assert "errcode 310000 sign not match" in str(caught.value)
    assert str(caught.value).startswith("机器人拒收")


def test_failures_never_show_the_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{unused_port()}/cgi-bin/webhook/send?key=the-robot-key"
    monkeypatch.setenv("TEST_WECOM_URL", url)
    for ch in (channel(type="wecom", url=url), channel(type="wecom", url="env:TEST_WECOM_URL")):
        with pytest.raises(SendFailed) as caught:
            deliver(ch)
        assert "the-robot-key" not in str(caught.value)
        assert str(caught.value).startswith("连接失败")


def test_an_unset_environment_reference_is_said() -> None:
    with pytest.raises(SendFailed) as caught:
        deliver(channel(type="webhook", url="env:TEST_NOT_SET_ANYWHERE"))
    assert "环境变量 TEST_NOT_SET_ANYWHERE 未设置" in str(caught.value)


def test_a_receiver_that_never_answers_is_given_up_at_the_timeout() -> None:
    hung = Receiver(hang=True)
    try:
        started = time.monotonic()
        with pytest.raises(SendFailed) as caught:
            deliver(channel(type="webhook", url=hung.url, timeout_s=0.5))
        assert time.monotonic() - started < 3
        assert "超时" in str(caught.value)
    finally:
        hung.close()


def test_email_through_smtp() -> None:
    server = MailServer()
    try:
        to = ["duty@station.example", "b@x.cn"]
        deliver(channel(type="email", host="127.0.0.1", port=server.port, security="none",
                        sender="bot@station.example", to=to))  # fmt: skip
    finally:
        server.close()
    (message,) = server.inbox.messages
    assert server.inbox.envelopes == [
        ("bot@station.example", ["duty@station.example", "b@x.cn"])
    ]
    from email.header import decode_header, make_header

    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "【石桥镇广电站·严重】设备 east 离线已 10 分钟"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert "device east offline for 10 min" in body.decode("utf-8")
    assert "2027-05-01T08:30:00+08:00" in body.decode("utf-8")
