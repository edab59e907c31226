"""Reads a Shelly's clock and switch config when it comes online, and corrects or refuses them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from drivers.protocols import shelly as rpc
from drivers.relays.errors import SETTINGS_UNREAD_NO_BROKER, Words
from drivers.relays.probe_base import DeviceProbe, ProbeConfig
from drivers.transports.mqtt import MqttUnavailable

log = logging.getLogger(__name__)

Call = Callable[[rpc.RpcRequest], Awaitable[rpc.RpcResult]]


class ShellyProbe(DeviceProbe):
    """The device clock's offset from ours and whether its switch config is safe; one task per
    online period, owned here and cancelled with the driver."""

    def __init__(self, cfg: ProbeConfig, codec: rpc.ShellyCodec, call: Call) -> None:
        super().__init__(cfg)
        self._codec, self._call = codec, call
        self.offset_s: float | None = None  # device unixtime - our time.time()
        self.faults: list[Words] = []

    def _reset(self) -> None:
        self.offset_s, self.faults = None, []

    def _unsafe(self) -> list[Words]:
        return self.faults

    async def _run(self) -> None:
        try:
            async with asyncio.timeout(self._timeout_s * (2 + 2 * self._channels)):
                sent = time.time()
                clock = await self._call(self._codec.sys_get_status())
                device = rpc.unixtime(clock.result)
                # Integer seconds on the device; half the round trip is our best guess of "when".
                now = (sent + time.time()) / 2
                self.offset_s = None if device is None else device - now
                faults: list[Words] = []
                for channel in range(1, self._channels + 1):
                    faults += await self._check(channel)
            self.faults, self.read = faults, True
            if faults:
                log.error("relay %s: %s", self._id, self.fault())
        except TimeoutError:
            self.problem = ("设备设置未读到", "device settings not read (no answer)")
        except MqttUnavailable:  # its text is bilingual already: never nest it in ours
            self.problem = SETTINGS_UNREAD_NO_BROKER
        except Exception as exc:  # refused, broker gone, or a bug: it must not vanish unseen
            log.warning("relay %s: settings check failed: %s", self._id, exc)
            self.problem = ("设备设置未读到", f"device settings not read: {exc}")

    async def _check(self, channel: int) -> list[Words]:
        config: dict[str, Any] = (await self._call(self._codec.switch_get_config(channel))).result
        fixes = rpc.config_fixes(config)
        if fixes and self._fix:
            log.warning("relay %s:%d: correcting %s", self._id, channel, fixes)
            await self._call(self._codec.switch_set_config(channel, fixes))
            config = (await self._call(self._codec.switch_get_config(channel))).result
        return rpc.config_faults(channel, config)
