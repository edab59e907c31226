"""Relays by name ("device:channel"), zones as groups of relays, and the amplifier power chain."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from controller.config.models import AmplifierConfig, ZoneConfig
from controller.core.clock import Clock, waiting
from drivers.relays.base import RelayDevice, RelayError, RelayUnreachable

log = logging.getLogger(__name__)
# Told of every relay command: device id, 'confirmed' / 'commanded' / 'failed', seconds taken.
RelayObserver = Callable[[str, str, float], None]


@dataclass(frozen=True)
class ZoneSwitch:
    """How switching a zone went: `confirmed`, `commanded` (write-only device) or `failed`."""

    zone: str
    on: bool
    result: str
    at: datetime
    error: str | None = None
    # Every failed relay said its command was never sent (broker or device unreachable): the
    # zone may be switched again once they can be reached.
    unreachable: bool = False


def parse_ref(ref: str) -> tuple[str, int]:
    device, _, channel = ref.rpartition(":")
    return device, int(channel)


class RelayBank:
    def __init__(
        self,
        devices: Mapping[str, RelayDevice],
        clock: Clock,
        observe: RelayObserver | None = None,
    ) -> None:
        self.devices = dict(devices)
        self._clock = clock
        self.observe = observe

    def channel(self, ref: str) -> tuple[RelayDevice, int]:
        device, channel = parse_ref(ref)
        return self.devices[device], channel

    async def switch(self, ref: str, on: bool, deadman_s: float | None = None) -> str:
        """Switch one relay; returns 'confirmed' or 'commanded'; raises RelayError."""
        device_id, channel = parse_ref(ref)
        device = self.devices[device_id]
        # Real elapsed time, not the injected clock: this measures the device, decides nothing.
        started = time.perf_counter()
        try:
            result = await device.switch(channel, on, deadman_s=deadman_s if on else None)
        except Exception:
            if self.observe:
                self.observe(device_id, "failed", time.perf_counter() - started)
            raise
        if self.observe:
            self.observe(device_id, result.confirmation, time.perf_counter() - started)
        return result.confirmation

    async def switch_zone(self, zone: ZoneConfig, on: bool, deadman_s: float | None) -> ZoneSwitch:
        results = await asyncio.gather(
            *(self.switch(ref, on, deadman_s) for ref in zone.relays), return_exceptions=True
        )
        errors = [str(r) for r in results if isinstance(r, BaseException)]
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, RelayError):
                log.error("zone %s: unexpected relay failure", zone.id, exc_info=r)
        if errors:
            unreachable = all(
                isinstance(r, RelayUnreachable) for r in results if isinstance(r, BaseException)
            )
            at = self._clock.now()
            return ZoneSwitch(zone.id, on, "failed", at, "; ".join(errors), unreachable)
        result = "confirmed" if all(r == "confirmed" for r in results) else "commanded"
        return ZoneSwitch(zone.id, on, result, self._clock.now())

    async def drive_off(self, refs: Iterable[str]) -> list[str]:
        """Switch every named relay OFF (the safe state); returns the errors, never raises."""
        unique = sorted(set(refs))
        results = await asyncio.gather(
            *(self.switch(ref, False) for ref in unique), return_exceptions=True
        )
        return [
            f"{ref}: {r}"
            for ref, r in zip(unique, results, strict=True)
            if isinstance(r, BaseException)
        ]


class PowerChain:
    """The amplifier power sequencer: on in order with settle times, off in reverse.

    Shared by airings that overlap on different zones: it powers up for the first and down
    after the last.
    """

    def __init__(self, bank: RelayBank, stages: Sequence[AmplifierConfig], clock: Clock) -> None:
        self._bank = bank
        self._stages = list(stages)
        self._clock = waiting(clock)
        self._users = 0
        self._lock = asyncio.Lock()
        # Stages that did not confirm ON (or a re-arm) since the chain last powered up: their
        # relay → why. Read by each airing on it when its record closes.
        self.failed: dict[str, str] = {}
        self.late: set[str] = set()  # stages that failed, then confirmed ON at a re-arm

    @property
    def settle_s(self) -> float:
        return sum(stage.settle_s for stage in self._stages)

    @property
    def refs(self) -> list[str]:
        return [stage.relay for stage in self._stages]

    @property
    def powered(self) -> bool:
        return self._users > 0

    async def acquire(self, deadman_s: float) -> None:
        async with self._lock:
            self._users += 1
            if self._users > 1:
                await self.rearm(deadman_s)
                return
            self.failed, self.late = {}, set()
            for stage in self._stages:
                try:
                    await self._bank.switch(stage.relay, True, deadman_s)
                except RelayError as exc:
                    # An amplifier that did not confirm may still be on; the airing goes ahead
                    # and the failure is visible in health and in the record (verdict()).
                    log.error("amplifier %s: %s", stage.relay, exc)
                    self.failed[stage.relay] = str(exc)
                if stage.settle_s:
                    await self._clock.sleep(stage.settle_s)

    async def rearm(self, deadman_s: float) -> None:
        for stage in self._stages:
            try:
                await self._bank.switch(stage.relay, True, deadman_s)
            except RelayError as exc:
                log.error("amplifier %s re-arm: %s", stage.relay, exc)
                self.failed.setdefault(stage.relay, f"re-arm: {exc}")
            else:  # confirmed on after all (the broker back, the board answering again)
                if self.failed.pop(stage.relay, None) is not None:
                    self.late.add(stage.relay)

    async def release(self) -> None:
        async with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            for stage in reversed(self._stages):
                try:
                    await self._bank.switch(stage.relay, False)
                except RelayError as exc:
                    log.error("amplifier %s off: %s", stage.relay, exc)

    def verdict(self, zones: Sequence[str]) -> tuple[dict[str, str], list[str]]:
        """What the failed stages mean for an airing on `zones`: (zone → why it failed,
        notes for stages a confirmed spare stood in for)."""
        broken, notes = amplifier_verdict(self._stages, self.failed, zones)
        late = [f"功放 {r} 迟开 / amplifier {r} confirmed ON late" for r in sorted(self.late)]
        return broken, notes + late


def amplifier_verdict(
    stages: Sequence[AmplifierConfig], failed: Mapping[str, str], zones: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """Zones fed by a stage that failed, with no confirmed spare standing in for it, fail:
    (zone → reason, notes for the stages a spare covered)."""
    broken: dict[str, str] = {}
    notes: list[str] = []
    for stage in stages:
        if stage.relay not in failed:
            continue
        why = failed[stage.relay]
        spares = [s.relay for s in stages if s.spare_for == stage.relay and s.relay not in failed]
        if spares:
            notes.append(
                f"功放 {stage.relay} 未确认，备用 {spares[0]} 接替 / amplifier {stage.relay} not "
                f"confirmed ({why}); spare {spares[0]} stood in"
            )
            continue
        fed = zones if stage.zones == "all" else [z for z in zones if z in stage.zones]
        reason = f"功放 {stage.relay} 未确认开启 / amplifier {stage.relay} not confirmed: {why}"
        for zone in fed:
            broken.setdefault(zone, reason)
    return broken, notes
