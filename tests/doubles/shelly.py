"""A Shelly Gen2+ device double, written from Shelly's RPC/MQTT docs, on its own paho client."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho

from doubles.mqtt_device import MqttDevice
from doubles.shelly_config import apply_config, default_config


@dataclass(frozen=True)
class ReceivedRequest:
    at: float  # time.monotonic() on arrival
    topic: str
    payload: str  # as sent
    frame: dict[str, Any] | None  # the parsed JSON-RPC frame (None: not a JSON object)
    retain: bool
    qos: int

    @property
    def method(self) -> str | None:
        method = (self.frame or {}).get("method")
        return method if isinstance(method, str) else None


@dataclass
class _Timer:
    thread: threading.Timer
    started_at: float  # Unix time, as the device reports it
    duration: float


class ShellyDouble(MqttDevice):
    """Switches, `toggle_after`, NotifyStatus and `<prefix>/online` of a Gen2 device (rpc_ntf on).

    Fault modes: `mute` (records requests, neither switches nor answers), `stuck` (answers
    Set but the relay does not move), `timerless` (ignores toggle_after), `stale_timer` (a Set
    while a timer runs keeps the old one), `go_offline()`. `config[sid]` is each switch's
    Switch.GetConfig (auto_on really switches back ON); `clock_offset_s` moves the device's clock
    (Sys.GetStatus unixtime, timer_started_at) away from ours, `clock_synced=False` nulls it.
    A PM model (`metering`; off by default, the frames of a switch without a meter) measures
    `apower` (Switch docs, Status): `load_w[sid]` watts while switch sid is ON, 0 while OFF or
    when sid is in `dead_loads` (its amplifier is dead); a change of output is followed by a
    NotifyStatus carrying the new apower.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topic_prefix: str,
        *,
        channels: int = 1,
        device_id: str = "shellypro4pm-a8032ab12345",
    ) -> None:
        super().__init__(host, port, topic_prefix)
        self.topic_prefix = topic_prefix
        self.channels, self.device_id = channels, device_id
        self.mute = False
        self.stuck = False
        self.timerless = False
        self.stale_timer = False
        self.clock_offset_s = 0.0
        self.clock_synced = True
        self.config = {sid: default_config(sid) for sid in range(channels)}
        self.metering = False
        self.load_w = dict.fromkeys(range(channels), 0.0)
        self.dead_loads: set[int] = set()
        self.requests: list[ReceivedRequest] = []
        self._output = dict.fromkeys(range(channels), False)  # by switch id: switch:0 ...
        self._timers: dict[int, _Timer] = {}

    # --- its topics ----------------------------------------------------------------------------

    vendor = "Shelly"

    def _will(self) -> tuple[str, str]:
        return f"{self.topic_prefix}/online", "false"

    def _birth(self) -> tuple[str, str]:
        return f"{self.topic_prefix}/online", "true"

    def _commands(self) -> str:
        return f"{self.topic_prefix}/rpc"

    def _cancel_timers(self) -> None:
        for timer in self._timers.values():
            timer.thread.cancel()
        self._timers.clear()

    # --- what tests look at -------------------------------------------------------------------

    def output(self, switch_id: int = 0) -> bool:
        with self._lock:
            return self._output[switch_id]

    def timer(self, switch_id: int = 0) -> tuple[float, float] | None:
        """(timer_started_at, timer_duration) of the running flip-back timer, if any."""
        with self._lock:
            timer = self._timers.get(switch_id)
            return None if timer is None else (timer.started_at, timer.duration)

    def age_timer(self, switch_id: int, seconds: float) -> None:
        """Pretend the running timer was started `seconds` earlier (its end stays put)."""
        with self._lock:
            self._timers[switch_id].started_at -= seconds

    def received(self, method: str | None = None) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if method is None or r.method == method]

    def press(self, switch_id: int = 0) -> None:
        """The device's own input toggles the output (and cancels a running timer)."""
        with self._lock:
            self._cancel_timer(switch_id)
            self._output[switch_id] = not self._output[switch_id]
            self._notify(switch_id, {"output": self._output[switch_id]}, "button")

    def draw_w(self, switch_id: int = 0) -> float:
        with self._lock:
            on = self._output[switch_id] and switch_id not in self.dead_loads
            return float(self.load_w.get(switch_id, 0.0)) if on else 0.0

    def report_power(self, switch_id: int = 0) -> None:
        """NotifyStatus with the switch's apower alone, as the device sends a change of it."""
        if self.metering:
            self._notify(switch_id, {"apower": self.draw_w(switch_id)}, None)

    # --- paho thread ---------------------------------------------------------------------------

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        payload = msg.payload.decode("utf-8", errors="replace")
        try:
            frame = json.loads(payload)
        except ValueError:
            frame = None
        frame = frame if isinstance(frame, dict) else None
        with self._lock:
            self.requests.append(
                ReceivedRequest(time.monotonic(), msg.topic, payload, frame, msg.retain, msg.qos)
            )
            if self.mute or frame is None or not isinstance(frame.get("src"), str):
                return  # without `src` there is nowhere to answer
            self._handle(frame)

    def _handle(self, frame: dict[str, Any]) -> None:
        rid, src, method = frame.get("id"), frame["src"], frame.get("method")
        raw = frame.get("params")
        params: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if method == "Sys.GetStatus":
            now = round(self._clock()) if self.clock_synced else None
            self._answer(
                src, rid, "result", {"unixtime": now, "uptime": 1234, "restart_required": False}
            )
            return
        if method not in ("Switch.Set", "Switch.GetStatus", "Switch.GetConfig", "Switch.SetConfig"):
            self._error(src, rid, 404, f"No handler for {method}")
            return
        sid = params.get("id")
        if not isinstance(sid, int) or isinstance(sid, bool) or sid not in self._output:
            self._error(src, rid, -105, f"Argument 'id', value {sid} not found!")
        elif method == "Switch.GetStatus":
            self._answer(src, rid, "result", self._status(sid))
        elif method == "Switch.GetConfig":
            self._answer(src, rid, "result", dict(self.config[sid]))
        elif method == "Switch.SetConfig":
            error = apply_config(self.config[sid], params.get("config"))
            if error is None:
                self._answer(src, rid, "result", {"restart_required": False})
            else:
                self._error(src, rid, -103, error)
        else:
            self._set(src, rid, sid, params)

    def _set(self, src: str, rid: Any, sid: int, params: dict[str, Any]) -> None:
        on, toggle_after = params.get("on"), params.get("toggle_after")
        if not isinstance(on, bool):
            self._error(src, rid, -103, "Missing required argument 'on'!")
            return
        if toggle_after is not None and not _positive(toggle_after):
            self._error(src, rid, -103, "Invalid argument 'toggle_after'!")
            return
        was_on = self._output[sid]
        keep = self.stale_timer and sid in self._timers and on
        if not self.stuck and not keep:
            self._cancel_timer(sid)  # a new Set replaces any running timer
            self._output[sid] = on
            change: dict[str, Any] = {"output": on} if on != was_on else {}
            if toggle_after is not None and not self.timerless:
                change |= self._arm_timer(sid, float(toggle_after))
            elif not on and self.config[sid]["auto_on"]:
                self._arm_timer(sid, float(self.config[sid]["auto_on_delay"]))
            if change:
                self._notify(sid, change, "MQTT")
            if on != was_on:
                self.report_power(sid)
        self._answer(src, rid, "result", {"was_on": was_on})

    def _status(self, sid: int) -> dict[str, Any]:
        body: dict[str, Any] = {"id": sid, "source": "MQTT", "output": self._output[sid]}
        timer = self._timers.get(sid)
        if timer is not None:
            body |= {"timer_started_at": timer.started_at, "timer_duration": timer.duration}
        if self.metering:
            watts = self.draw_w(sid)
            body |= {"apower": watts, "voltage": 230.1, "current": round(watts / 230.1, 3),
                     "aenergy": {"total": 12.345, "by_minute": [0.0, 0.0, 0.0],
                                 "minute_ts": int(self._clock())}}  # fmt: skip
        return body | {"temperature": {"tC": 41.2, "tF": 106.2}}

    def _arm_timer(self, sid: int, seconds: float) -> dict[str, Any]:
        thread = threading.Timer(seconds, self._flip_back, args=(sid,))
        thread.daemon = True
        timer = _Timer(thread, round(self._clock(), 2), seconds)
        self._timers[sid] = timer
        thread.start()
        return {"timer_started_at": timer.started_at, "timer_duration": seconds}

    def _cancel_timer(self, sid: int) -> None:
        timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.thread.cancel()

    def _flip_back(self, sid: int) -> None:
        with self._lock:
            timer = self._timers.get(sid)
            if timer is None or timer.thread is not threading.current_thread():
                return  # replaced or cancelled since
            del self._timers[sid]
            self._output[sid] = not self._output[sid]
            self._notify(sid, {"output": self._output[sid]}, "timer")

    def _answer(self, dst: str, rid: Any, key: str, body: dict[str, Any]) -> None:
        """A response frame (`key`: "result" or "error") on `<src of the request>/rpc`."""
        frame = {"id": rid, "src": self.device_id, "dst": dst, key: body}
        self._publish(f"{dst}/rpc", json.dumps(frame))

    def _error(self, dst: str, rid: Any, code: int, message: str) -> None:
        self._answer(dst, rid, "error", {"code": code, "message": message})

    def _notify(self, sid: int, change: dict[str, Any], source: str | None) -> None:
        body = {"id": sid, **change, **({"source": source} if source else {})}
        frame = {
            "src": self.device_id,
            "dst": f"{self.topic_prefix}/events",
            "method": "NotifyStatus",
            "params": {"ts": round(self._clock(), 2), f"switch:{sid}": body},
        }
        self._publish(f"{self.topic_prefix}/events/rpc", json.dumps(frame))

    def _clock(self) -> float:
        return time.time() + self.clock_offset_s


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
