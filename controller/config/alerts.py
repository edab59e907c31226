"""The `alerts:` section of config.yaml: where faults are pushed (channels) and when.

No channels by default: the shipped config needs no network. A secret (a robot's webhook
address, the DingTalk signing secret, the SMTP password) may be written as `env:NAME`, read
from the daemon's environment when a message is sent, so config.yaml can be shared.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from drivers.settings.section import Section
from drivers.settings.types import Duration, TimeOfDay, short_repr

Severity = Literal["info", "warning", "critical"]
ENV_PREFIX = "env:"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MOBILE = re.compile(r"\+?[0-9]{5,20}|@all")
_ADDRESS = re.compile(r"[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,253}")
MAX_URL, MAX_SECRET = 2048, 1024


_WHAT = {"地址": "address", "密钥": "secret", "名称": "name"}


def _no_control(value: str, what: str) -> None:
    if _CONTROL.search(value):
        raise ValueError(
            f"{what}含控制字符（如 NUL）/ the {_WHAT[what]} holds a control character (e.g. NUL)"
        )


def _env_ref(value: str) -> str:
    name = value.removeprefix(ENV_PREFIX)
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(
            f"{short_repr(value)} 不是环境变量引用（如 env:DINGTALK_SECRET）"
            f" / {short_repr(value)} is not an environment reference (e.g. env:DINGTALK_SECRET)"
        )
    return value


def check_secret(value: str) -> str:
    """A literal secret or `env:NAME`."""
    _no_control(value, "密钥")
    if value.startswith(ENV_PREFIX):
        return _env_ref(value)
    if not value or len(value) > MAX_SECRET:
        raise ValueError(f"密钥须为 1–{MAX_SECRET} 个字符 / a secret is 1–{MAX_SECRET} characters")
    return value


def check_url(value: str) -> str:
    """An http(s) address with a host, or `env:NAME` (checked again when it is read)."""
    _no_control(value, "地址")
    if value.startswith(ENV_PREFIX):
        return _env_ref(value)
    problem = url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def url_problem(value: str) -> str | None:
    """Why `value` is no usable webhook address (None: it is one)."""
    shown = short_repr(value)
    if len(value) > MAX_URL or _CONTROL.search(value) or " " in value:
        return f"{shown} 不是可用的网址 / {shown} is not a usable address"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return f"{shown} 不是可用的网址 / {shown} is not a usable address"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            f"{shown} 不是 http(s) 网址（如 https://qyapi.weixin.qq.com/...）"
            f" / {shown} is not an http(s) address (e.g. https://qyapi.weixin.qq.com/...)"
        )
    return None


Secret = Annotated[str, AfterValidator(check_secret)]
WebhookUrl = Annotated[str, AfterValidator(check_url)]


class _Channel(Section):
    name: str = Field(min_length=1, max_length=40, description="Channel name, e.g. 值班群.")
    min_severity: Severity = Field("info", description="Alerts below this are not sent here.")
    max_per_minute: int = Field(
        10, ge=1, le=60, description="At most this many messages a minute (the robots allow 20)."
    )
    timeout_s: Duration = Field(
        10.0, gt=0, le=120, description="One delivery attempt gives up after this (0..120 s)."
    )

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        _no_control(value, "名称")
        return value


class WebhookChannel(_Channel):
    type: Literal["webhook"]
    url: WebhookUrl = Field(description="Receives each alert as a JSON POST (or env:NAME).")


def _mobiles(value: list[str]) -> list[str]:
    for entry in value:
        if not _MOBILE.fullmatch(entry):
            raise ValueError(f"{short_repr(entry)} 不是手机号或 @all / is not a mobile or @all")
    return value


Mobiles = Annotated[list[str], AfterValidator(_mobiles)]


class WecomChannel(_Channel):
    type: Literal["wecom"]
    url: WebhookUrl = Field(description="The group robot's webhook address (…/send?key=…).")
    mentioned_mobiles: Mobiles = Field(
        default_factory=list, description="Mobiles to @ in the group (or @all)."
    )


class DingtalkChannel(_Channel):
    type: Literal["dingtalk"]
    url: WebhookUrl = Field(description="The robot's webhook address (…/send?access_token=…).")
    secret: Secret | None = Field(None, description="The 加签 secret (SEC…) or env:NAME.")
    at_mobiles: Mobiles = Field(default_factory=list, description="Mobiles to @ (or @all).")


class EmailChannel(_Channel):
    type: Literal["email"]
    host: str = Field(min_length=1, max_length=253, description="SMTP server.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 starttls, 465 ssl).")
    security: Literal["starttls", "ssl", "none"] = Field("starttls", description="Transport.")
    username: str | None = Field(None, max_length=256, description="SMTP login, if any.")
    password: Secret | None = Field(None, description="SMTP password or env:NAME.")
    sender: str = Field(description="From: address.")
    to: list[str] = Field(min_length=1, max_length=50, description="Recipients.")

    @field_validator("host", "username")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is not None:
            _no_control(value, "地址")
        return value

    @field_validator("sender", "to")
    @classmethod
    def _addresses(cls, value: str | list[str]) -> str | list[str]:
        for address in [value] if isinstance(value, str) else value:
            if not _ADDRESS.fullmatch(address):
                shown = short_repr(address)
                raise ValueError(f"{shown} 不是邮件地址 / {shown} is not an e-mail address")
        return value


Channel = Annotated[
    WebhookChannel | WecomChannel | DingtalkChannel | EmailChannel, Field(discriminator="type")
]


class AlertsConfig(Section):
    channels: list[Channel] = Field(default_factory=list, description="Where alerts go.")
    offline_after_s: Duration = Field(
        300.0, ge=0, le=86_400, description="A device offline this long is an alert (0..24 h)."
    )
    stable_after_s: Duration = Field(
        120.0, ge=0, le=86_400,
        description="Back online this long without dropping again: the all-clear (0..24 h).",
    )  # fmt: skip
    repeat_after_s: Duration = Field(
        6 * 3600.0, ge=60, le=7 * 86_400,
        description="The same alert, still true, is sent again after this (1 min..7 days).",
    )  # fmt: skip
    retry_for_s: Duration = Field(
        86_400.0, ge=60, le=7 * 86_400,
        description="A delivery that keeps failing is retried with backoff this long.",
    )  # fmt: skip
    summary_at: TimeOfDay | None = Field(
        None, description="The day's summary is sent at this station time (none if unset)."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> AlertsConfig:
        names = [c.name for c in self.channels]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            listed = ", ".join(doubled)
            raise ValueError(f"告警渠道名称重复：{listed} / channel names repeat: {listed}")
        return self
