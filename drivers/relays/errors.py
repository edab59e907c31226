"""Every way a relay switch or build can fail, typed, and said to the operator here only.

Operator text is Chinese first, then English, each said once: `say()` joins the two halves, and
a cause handed to an error is a pair of halves too, so no message ever nests "中文 / EN" inside
another one.
"""

from __future__ import annotations

from drivers.relays.base import RelayConfigError, RelayError, RelayUnreachable

Words = tuple[str, str]  # (Chinese, English)

MQTT_LOST: Words = ("MQTT 连接中断", "MQTT connection lost")
SETTINGS_UNREAD: Words = ("设备设置未读到", "device settings not read")
SETTINGS_UNREAD_NO_BROKER: Words = (
    "MQTT 服务器不可达，设备设置未读到",
    "device settings not read: MQTT broker unreachable",
)


def say(zh: str, en: str) -> str:
    """The operator's text: Chinese, then English."""
    return f"{zh} / {en}"


def on_off(on: bool) -> Words:
    return ("开启", "ON") if on else ("关闭", "OFF")


class NoSuchChannel(RelayError):
    def __init__(self, relay: str, channel: int, channels: int) -> None:
        super().__init__(
            say(
                f"继电器 {relay} 没有第{channel}路",
                f"relay {relay} has no channel {channel} (1..{channels})",
            )
        )


def check_channel(relay: str, channel: int, channels: int) -> None:
    """Raise NoSuchChannel unless `channel` is one of the device's 1..`channels`."""
    if not 1 <= channel <= channels:
        raise NoSuchChannel(relay, channel, channels)


class InvalidDeadman(RelayError):
    """The dead-man time asked for is one the device cannot run (`why`: the codec's reason)."""

    def __init__(self, relay: str, channel: int, why: str) -> None:
        super().__init__(
            say(
                f"继电器 {relay} 第{channel}路 定时关闭时间无效",
                f"relay {relay}:{channel}: invalid dead-man time: {why}",
            )
        )


class RelayOffline(RelayUnreachable):
    """The device said it is offline (`sign`: how it says so); nothing was sent."""

    def __init__(self, relay: str, channel: int, on: bool, sign: str) -> None:
        zh, en = on_off(on)
        super().__init__(
            say(
                f"继电器 {relay} 离线，第{channel}路 未{zh}",
                f"relay {relay}:{channel} not switched {en}: device offline ({sign})",
            )
        )


class NotSwitched(RelayError):
    """The switch did not happen, for `cause`."""

    def __init__(self, relay: str, channel: int, on: bool, cause: Words) -> None:
        zh, en = on_off(on)
        super().__init__(
            say(
                f"继电器 {relay} 第{channel}路 未{zh}：{cause[0]}",
                f"relay {relay}:{channel} not switched {en}: {cause[1]}",
            )
        )


class BrokerUnreachable(NotSwitched, RelayUnreachable):
    """The MQTT broker could not take the command: it was never sent, and never will be."""

    def __init__(self, relay: str, channel: int, on: bool) -> None:
        cause = ("MQTT 服务器不可达，命令未发送", "MQTT broker unreachable, command not sent")
        super().__init__(relay, channel, on, cause)


class DeviceRefused(NotSwitched):
    """The device answered the command with an error (`answer`, as it said it)."""

    def __init__(self, relay: str, channel: int, on: bool, answer: str) -> None:
        super().__init__(relay, channel, on, (f"设备报错 {answer}", f"device error {answer}"))


class SettingsRefusal(NotSwitched):
    """ON refused: the device's settings are unread, or would defeat the dead-man."""

    def __init__(self, relay: str, channel: int, fault: Words) -> None:
        super().__init__(relay, channel, True, fault)


class SettingsUnreachable(SettingsRefusal, RelayUnreachable):
    """ON refused while cut off from the broker: the settings may be read once it is back."""


def settings_refusal(
    relay: str, channel: int, fault: Words | None, read: bool, connected: bool
) -> SettingsRefusal | None:
    """Why an ON is refused while the device's settings are unread or unsafe (None: it is not)."""
    if fault is None and not read:
        fault = SETTINGS_UNREAD
    if fault is None:
        return None
    kind = SettingsRefusal if connected else SettingsUnreachable
    return kind(relay, channel, fault)


class NotConfirmed(RelayError):
    """The device did not confirm the switch after every attempt (`reason`: what was missing,
    said when the protocol can tell more than "no reply")."""

    def __init__(
        self, relay: str, channel: int, on: bool, attempts: int, reason: str | None = None
    ) -> None:
        zh, en = on_off(on)
        why = f" ({reason})" if reason else ""
        super().__init__(
            say(
                f"继电器 {relay} 第{channel}路 未确认{zh}",
                f"relay {relay}:{channel} did not confirm {en} after {attempts} attempts{why}",
            )
        )


class DeadmanNotConfirmed(RelayError):
    """The device's own off-timer (`timer`, its name on the device) is not confirmed: after
    `attempts` tries (with the last `reason`), or because of `cause`. `switched`: the output was
    commanded anyway; otherwise the ON never went out."""

    def __init__(
        self,
        relay: str,
        channel: int,
        timer: str,
        *,
        attempts: int | None = None,
        reason: str = "",
        switched: bool = False,
        cause: Words | None = None,
    ) -> None:
        zh = f"继电器 {relay} 第{channel}路 定时关闭未确认"
        en = f"relay {relay}:{channel} dead-man ({timer}) not confirmed"
        if attempts is not None:
            en += f" after {attempts} attempts ({reason})"
        if not switched:
            zh, en = f"{zh}，未开启", f"{en}, not switched ON"
        if cause is not None:
            zh, en = f"{zh}：{cause[0]}", f"{en}: {cause[1]}"
        super().__init__(say(zh, en))


class MqttRequired(RelayConfigError):
    """An MQTT device configured without the `mqtt:` section."""

    def __init__(self, relay: str, kind: str) -> None:
        super().__init__(
            say(
                f"继电器 {relay} 是 {kind} 设备，需要配置 mqtt 段",
                f"relay {relay} is a {kind} device and needs the MQTT connection "
                "(the `mqtt:` section of config.yaml)",
            )
        )


class BadTopic(RelayConfigError):
    """A topic setting (`key`) the device's protocol cannot use (`why`: the codec's reason)."""

    def __init__(self, relay: str, key: str, why: str) -> None:
        super().__init__(say(f"继电器 {relay} 的 {key} 无效", f"relay {relay}: {why}"))


class UnknownRelayType(RelayConfigError):
    def __init__(self, relay: str, kind: str, known: list[str]) -> None:
        super().__init__(
            say(
                f"继电器 {relay} 的类型 {kind!r} 不受支持",
                f"relay {relay}: unknown type {kind!r} (known: {', '.join(known)})",
            )
        )
