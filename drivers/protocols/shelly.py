"""Shelly Gen2+ RPC over MQTT as pure code: Switch requests with our `src`, frames → events."""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from drivers.protocols.availability import Availability as Availability  # one of its events

TOPIC_PREFIX_MAX = 300  # Shelly's limit for `topic_prefix` (Mqtt component docs)
_PREFIX_FORBIDDEN = frozenset("$#+%?")
_SWITCH_KEY = re.compile(r"^switch:(\d+)$")
_NOTIFY = ("NotifyStatus", "NotifyFullStatus")
# Switch config the station needs (Switch docs, config section): OFF after power-up, and no
# auto_on, which would switch the output back ON a while after every OFF.
SAFE_CONFIG: dict[str, Any] = {"initial_state": "off", "auto_on": False}


@dataclass(frozen=True)
class RpcRequest:
    """One JSON-RPC request frame, ready to publish (never retained)."""

    id: int
    method: str
    topic: str
    payload: str


@dataclass(frozen=True)
class SwitchStatus:
    """A switch's output as the device reported it, and its flip-back timer while one runs."""

    channel: int  # switch:0 is channel 1
    output: bool
    timer_started_at: float | None = None
    timer_duration: float | None = None
    source: str | None = None


@dataclass(frozen=True)
class RpcResult:
    """A successful reply to request `id`."""

    id: int
    result: dict[str, Any]


@dataclass(frozen=True)
class RpcFailure:
    """An error reply to request `id`, with the device's code and message."""

    id: int
    code: int
    message: str


@dataclass(frozen=True)
class SwitchReport:
    """A switch status the device published by itself (NotifyStatus or status/switch:<n>)."""

    status: SwitchStatus


ShellyEvent = RpcResult | RpcFailure | SwitchReport | Availability


def check_topic_prefix(prefix: str) -> str:
    """`prefix` if Shelly would accept it as `topic_prefix`, else ValueError."""
    if not prefix or len(prefix) > TOPIC_PREFIX_MAX:
        raise ValueError(f"Shelly topic_prefix must be 1..{TOPIC_PREFIX_MAX} characters")
    bad = sorted(set(prefix) & _PREFIX_FORBIDDEN)
    if bad:
        raise ValueError(f"Shelly topic_prefix {prefix!r} must not contain {' '.join(bad)}")
    return prefix


def check_toggle_after(seconds: float) -> float | int:
    """`seconds` as sent in `toggle_after` (whole seconds as an integer), or ValueError."""
    if isinstance(seconds, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"toggle_after must be a positive number of seconds, not {seconds!r}")
    return int(seconds) if float(seconds).is_integer() else seconds


def was_on(result: dict[str, Any]) -> bool | None:
    """The `was_on` of a Switch.Set result (None: not in the reply)."""
    value = result.get("was_on")
    return value if isinstance(value, bool) else None


def config_fixes(config: dict[str, Any]) -> dict[str, Any]:
    """The SAFE_CONFIG fields a Switch.GetConfig result gets wrong ({} when none)."""
    return {k: v for k, v in SAFE_CONFIG.items() if config.get(k) != v}


def config_faults(channel: int, config: dict[str, Any]) -> list[tuple[str, str]]:
    """What in one switch's config defeats the safe state, as (Chinese, English)."""
    out: list[tuple[str, str]] = []
    state = config.get("initial_state")
    if state != "off":
        out.append(
            (
                f"第{channel}路 initial_state {state}（来电后不是关闭）",
                f"switch {channel} initial_state {state} (not OFF after power-up)",
            )
        )
    if config.get("auto_on") is not False:
        delay = config.get("auto_on_delay")
        out.append(
            (
                f"第{channel}路 auto_on（关闭 {delay} 秒后自动开启）",
                f"switch {channel} auto_on (back ON {delay} s after every OFF)",
            )
        )
    return out


def unixtime(result: dict[str, Any]) -> float | None:
    """The device's clock from a Sys.GetStatus result (None: not synced yet)."""
    return _number(result.get("unixtime"))


def switch_status(channel: int, body: Any) -> SwitchStatus | None:
    """A switch status object (GetStatus result, status topic, NotifyStatus entry) with `output`."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), bool):
        return None
    source = body.get("source")
    return SwitchStatus(
        channel,
        body["output"],
        _number(body.get("timer_started_at")),
        _number(body.get("timer_duration")),
        source if isinstance(source, str) else None,
    )


class ShellyCodec:
    """Requests to one device and parsing of what it publishes; ids are unique per codec."""

    def __init__(self, topic_prefix: str, src: str, *, first_id: int = 1) -> None:
        if not src or any(c in src for c in "+#\0"):
            raise ValueError(f"RPC src {src!r} must be a non-empty topic without wildcards")
        self.topic_prefix = check_topic_prefix(topic_prefix)
        self.src = src
        self._ids = itertools.count(first_id)

    @property
    def request_topic(self) -> str:
        return f"{self.topic_prefix}/rpc"

    @property
    def reply_topic(self) -> str:
        """Where the device answers: `<src>/rpc` (RPCChannels, MQTT section)."""
        return f"{self.src}/rpc"

    @property
    def events_topic(self) -> str:
        return f"{self.topic_prefix}/events/rpc"

    @property
    def online_topic(self) -> str:
        return f"{self.topic_prefix}/online"

    def status_topic(self, channel: int) -> str:
        return f"{self.topic_prefix}/status/switch:{_switch_id(channel)}"

    def subscriptions(self, channels: int) -> list[str]:
        """Exact topics to subscribe to for a device with `channels` switches."""
        status = [self.status_topic(ch) for ch in range(1, channels + 1)]
        return [self.reply_topic, self.online_topic, self.events_topic, *status]

    def switch_set(self, channel: int, on: bool, toggle_after: float | None = None) -> RpcRequest:
        """Switch.Set; `toggle_after` (ON only) makes the device flip the output back by itself."""
        params: dict[str, Any] = {"id": _switch_id(channel), "on": on}
        if toggle_after is not None:
            if not on:
                # A flip-back timer on OFF would switch the loudspeakers ON later, unattended.
                raise ValueError("toggle_after is only sent with on=true")
            params["toggle_after"] = check_toggle_after(toggle_after)
        return self._request("Switch.Set", params)

    def switch_get_status(self, channel: int) -> RpcRequest:
        return self._request("Switch.GetStatus", {"id": _switch_id(channel)})

    def switch_get_config(self, channel: int) -> RpcRequest:
        return self._request("Switch.GetConfig", {"id": _switch_id(channel)})

    def switch_set_config(self, channel: int, config: dict[str, Any]) -> RpcRequest:
        return self._request("Switch.SetConfig", {"id": _switch_id(channel), "config": config})

    def sys_get_status(self) -> RpcRequest:
        """The device's clock (`unixtime`, null until synced) for timer_started_at."""
        return self._request("Sys.GetStatus", {})

    def parse(self, topic: str, payload: bytes) -> list[ShellyEvent]:
        """Events in one message; [] for anything not understood or not for us."""
        text = payload.decode("utf-8", errors="replace").strip()
        if topic == self.online_topic:
            return [Availability(text == "true")] if text in ("true", "false") else []
        if topic == self.reply_topic:
            return _reply_events(_json(text))
        if topic == self.events_topic:
            return _notify_events(_json(text))
        prefix = f"{self.topic_prefix}/status/"
        match = _SWITCH_KEY.match(topic[len(prefix) :]) if topic.startswith(prefix) else None
        if match is not None:
            status = switch_status(int(match[1]) + 1, _json(text))
            return [SwitchReport(status)] if status is not None else []
        return []

    def _request(self, method: str, params: dict[str, Any]) -> RpcRequest:
        rid = next(self._ids)
        frame = {"jsonrpc": "2.0", "id": rid, "src": self.src, "method": method, "params": params}
        return RpcRequest(rid, method, self.request_topic, json.dumps(frame, separators=(",", ":")))


def _switch_id(channel: int) -> int:
    if channel < 1:
        raise ValueError(f"channel {channel} does not exist (switch:0 is channel 1)")
    return channel - 1


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None


def _reply_events(frame: Any) -> list[ShellyEvent]:
    if not isinstance(frame, dict) or "method" in frame:
        return []
    rid = frame.get("id")
    if not isinstance(rid, int) or isinstance(rid, bool):
        return []  # our ids are integers; anything else is not an answer to us
    error = frame.get("error")
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return [
            RpcFailure(
                rid,
                code if isinstance(code, int) and not isinstance(code, bool) else 0,
                message if isinstance(message, str) else "",
            )
        ]
    result = frame.get("result")
    return [RpcResult(rid, result)] if isinstance(result, dict) else []


def _notify_events(frame: Any) -> list[ShellyEvent]:
    if not isinstance(frame, dict) or frame.get("method") not in _NOTIFY:
        return []
    params = frame.get("params")
    if not isinstance(params, dict):
        return []
    events: list[ShellyEvent] = []
    for key, body in params.items():
        match = _SWITCH_KEY.match(key)
        status = switch_status(int(match[1]) + 1, body) if match else None
        if status is not None:  # a change of power alone carries no `output`
            events.append(SwitchReport(status))
    return events
