"""A generic screen fed JSON text messages over MQTT (QoS 1, never retained).

Messages on the configured topic, UTF-8 JSON:

    {"text": "…", "color": "red" | "green" | "yellow" | null, "hold_s": 10.0, "ts": "…"}
    {"power": true | false, "ts": "…"}

`ts` is the send time (ISO 8601, UTC); a clear is a text message with "text": "" and
"hold_s": 0. The display should drop a text `hold_s` after `ts` unless a newer one arrives.
Not retained, so a screen that comes online later never shows a stale message.

Such a display does not answer: `showing` and `powered` are what was last published (until
`hold_s` passes), `available` is the broker connection, and `last_ack` stays None.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from drivers.displays.base import Charset, Color, DisplayError, DisplayHealth
from drivers.protocols.onbon_cmd import encode_checked
from drivers.settings.devices import MqttTextDisplayConfig
from drivers.transports.mqtt import MqttConnection, MqttUnavailable

log = logging.getLogger(__name__)


class MqttTextDisplay:
    """One display topic on the daemon's shared MQTT connection."""

    def __init__(self, cfg: MqttTextDisplayConfig, mqtt: MqttConnection) -> None:
        self._cfg = cfg
        self._mqtt = mqtt
        self._showing: tuple[str, float] | None = None  # text, time.monotonic() it expires
        self._powered: bool | None = None
        self._last_error: str | None = None

    @property
    def id(self) -> str:
        return self._cfg.id

    @property
    def charset(self) -> Charset:
        return self._cfg.charset

    @property
    def topic(self) -> str:
        return self._cfg.topic

    async def start(self) -> None:
        """Nothing to subscribe to: the display does not answer."""

    async def stop(self) -> None:
        """The connection belongs to the daemon."""

    async def show(self, text: str, *, color: Color | None = None, hold_s: float = 10.0) -> None:
        encode_checked(text, self.charset)
        self._publish({"text": text, "color": color, "hold_s": hold_s}, "显示文字", "show text")
        self._showing = (text, time.monotonic() + hold_s)

    async def clear(self) -> None:
        self._publish({"text": "", "color": None, "hold_s": 0}, "清屏", "clear")
        self._showing = None

    async def power(self, on: bool) -> None:
        zh, en = ("开屏", "screen on") if on else ("关屏", "screen off")
        self._publish({"power": on}, zh, en)
        self._powered = on

    async def ping(self) -> bool:
        """True while the broker connection is up (the display itself cannot be asked)."""
        return self._mqtt.is_connected

    def health(self) -> DisplayHealth:
        showing = self._showing
        if showing is not None and time.monotonic() >= showing[1]:
            showing = None
        return DisplayHealth(
            available=self._mqtt.is_connected,
            last_error=self._last_error,
            last_ack=None,
            showing=showing[0] if showing else None,
            powered=self._powered,
        )

    def _publish(self, message: dict[str, object], zh: str, en: str) -> None:
        message["ts"] = datetime.now(UTC).isoformat(timespec="milliseconds")
        payload = json.dumps(message, ensure_ascii=False)
        try:
            self._mqtt.publish(self._cfg.topic, payload, qos=1, retain=False)
        except MqttUnavailable as exc:
            self._last_error = (
                f"屏幕 {self.id} {zh}失败：MQTT 服务器不可达，消息未发送 / display {self.id}: "
                f"{en} failed, MQTT broker unreachable, message not sent"
            )
            log.error("%s", self._last_error)
            raise DisplayError(self._last_error) from exc
        self._last_error = None
