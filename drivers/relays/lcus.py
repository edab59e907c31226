"""An LCUS CH340 USB relay: write-only, so every switch is "commanded", never "confirmed"."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from drivers.protocols.lcus import encode
from drivers.relays.base import (
    ChannelStatus,
    DeviceHealth,
    PowerMeter,
    RelayError,
    SwitchResult,
)
from drivers.relays.common import Configured, known_status
from drivers.relays.errors import check_channel
from drivers.settings.devices import LcusRelayConfig
from drivers.transports.serial import SerialBus, SerialBuses, SerialError

log = logging.getLogger(__name__)

# Keeps back-to-back commands apart on the board's little MCU: cheap insurance, not a figure
# from a vendor document.
COMMAND_GAP_S = 0.02


class LcusRelay(Configured[LcusRelayConfig]):
    """The board never answers, so status is what was last sent (confirmed=False), and it has no
    timer: no dead-man is possible. Health knows only whether the port could be written."""

    def __init__(self, cfg: LcusRelayConfig, bus: SerialBus) -> None:
        super().__init__(cfg)
        self._bus = bus
        self._commanded: dict[int, tuple[bool, datetime]] = {}
        self._port_ok: bool | None = None
        self._last_error: str | None = None
        self._warned_deadman = False

    @property
    def deadman_max_s(self) -> None:
        """LCUS boards have no timer."""
        return None

    async def start(self) -> None:
        """Open the port. Switches nothing."""
        await self._bus.attach()
        self._port_ok = None if self._bus.is_open else False
        log.warning(
            "relay %s: LCUS relays never answer and have no timer: switches are unconfirmed "
            "and a channel left ON stays ON if the daemon dies",
            self.id,
        )

    async def stop(self) -> None:
        await self._bus.detach()

    async def switch(
        self, channel: int, on: bool, *, deadman_s: float | None = None
    ) -> SwitchResult:
        self._check_channel(channel)
        if on and deadman_s and not self._warned_deadman:
            self._warned_deadman = True
            log.warning("relay %s: dead-man asked for, but LCUS has no timer", self.id)
        try:
            await self._bus.send(encode(channel, on))
        except SerialError as exc:
            zh, en = ("开启", "ON") if on else ("关闭", "OFF")
            self._port_ok = False
            self._last_error = (
                f"继电器 {self.id} 第{channel}路 未{zh}：串口不可用，命令未发送 / relay "
                f"{self.id}:{channel} not switched {en}, command not sent: {exc}"
            )
            log.error("%s", self._last_error)
            raise RelayError(self._last_error) from exc
        self._port_ok = None  # written; whether the board acted, nobody can tell
        at = datetime.now(UTC)
        if self._commanded.get(channel, (None,))[0] != on:
            self._commanded[channel] = (on, at)
        return SwitchResult(channel, on, "commanded", at, 1)

    def status(self, channel: int) -> ChannelStatus:
        self._check_channel(channel)
        return known_status(channel, self._commanded.get(channel), confirmed=False)

    def health(self) -> DeviceHealth:
        """available: False when the port cannot be opened or written, else None (unknowable)."""
        return DeviceHealth(self._port_ok, self._last_error, None)

    def power_meter(self) -> PowerMeter | None:
        return None  # a relay board with no meter: it cannot tell what the amplifier draws

    def _check_channel(self, channel: int) -> None:
        check_channel(self._cfg.id, channel, self._cfg.channels)


def build_lcus(cfg: LcusRelayConfig, *, buses: SerialBuses | None = None) -> LcusRelay:
    """The driver for one `type: lcus` entry."""
    return LcusRelay(cfg, (buses or SerialBuses()).get(cfg.port, cfg.baudrate, gap_s=COMMAND_GAP_S))
