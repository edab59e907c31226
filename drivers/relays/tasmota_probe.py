"""Reads a Tasmota device's dead-man settings when it comes online, and corrects or refuses them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from drivers.protocols.tasmota import TasmotaCodec, TasmotaEvent
from drivers.protocols.tasmota_settings import TasmotaSettings, Words
from drivers.relays.errors import SETTINGS_UNREAD_NO_BROKER
from drivers.relays.probe_base import DeviceProbe, ProbeConfig
from drivers.transports.mqtt import MqttUnavailable

log = logging.getLogger(__name__)

Publish = Callable[[str, str], None]


class SettingsProbe(DeviceProbe):
    """One device's settings as last read; a probe task per online period, owned and cancelled."""

    def __init__(self, cfg: ProbeConfig, codec: TasmotaCodec, publish: Publish) -> None:
        super().__init__(cfg)  # `read`: every query answered (and corrections confirmed)
        self._codec, self._publish = codec, publish
        self.settings = TasmotaSettings(cfg.channels)
        self._changed = asyncio.Event()

    def absorb(self, event: TasmotaEvent) -> None:
        """A reply from the device; also after the probe, so a later change shows at once."""
        if self.settings.absorb(event):
            self._changed.set()

    def _reset(self) -> None:
        self.settings = TasmotaSettings(self._channels)

    def _unsafe(self) -> list[Words]:
        return self.settings.faults()

    async def _run(self) -> None:
        settings = self.settings
        try:
            # The capacity query goes first: the device answers in order, so once the later
            # queries are answered, silence on PulseTime<channels> means an 8-timer firmware.
            if not await self._settle(settings.queries, lambda: settings.answered):
                missing = ", ".join(settings.queries())
                en = f"device settings not read (no answer to {missing})"
                self.problem = ("设备设置未读到", en)
                log.warning("relay %s: %s", self._id, self.problem[1])
                return
            settings.conclude()
            fixes = settings.fixes() if self._fix else []
            if fixes:
                log.warning("relay %s: correcting %s", self._id, fixes)
                await self._settle(
                    lambda: [f"{name} {value}" for name, value in settings.fixes()],
                    lambda: not settings.fixes(),
                )
            self.read = True
            fault = self.fault()
            if fault is not None:
                log.error("relay %s: %s", self._id, fault[1])
        except MqttUnavailable:  # its text is bilingual already: never nest it in ours
            self.problem = SETTINGS_UNREAD_NO_BROKER
        except Exception:  # a bug here must not vanish with the task
            log.exception("relay %s: settings probe failed", self._id)
            self.problem = ("设备设置检查出错", "device settings check failed")

    async def _settle(self, pending: Callable[[], list[str]], done: Callable[[], bool]) -> bool:
        """Send what is `pending` ("Name" or "Name value"), wait for `done`; re-send on silence."""
        for _ in range(1 + self._retries):
            if done():
                return True
            for command in pending():
                name, _, value = command.partition(" ")
                self._publish(*self._codec.command(name, value))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timeout_s):
                    while not done():
                        self._changed.clear()
                        await self._changed.wait()
        return done()
