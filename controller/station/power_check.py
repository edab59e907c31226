"""Hardware-confirmed audio (zones[].power, issue 11 item 4): the amplifier's power draw, read
by the meter of the zone's relay, must reach `min_w` within `within_s` of the audio's start.

`verdict` is pure (readings in, verdict out); `watch_power` takes the readings during an
airing, every wait on the clock and every read bounded by it, so a meter that never answers
makes the zone unconfirmed at the window's end, never a hang. The verdict goes into the zone's
as-run row (audio_confirmed, power_w, power_reason); an unconfirmed one is also a fault in the
status and an alert ("power not confirmed") to the people on duty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from controller.alerts.events import power_unconfirmed
from controller.config.power import PowerCheckConfig
from controller.core.clock import WaitingClock
from controller.planning.planner import Airing
from controller.station.live import AiringState, RunnerContext, ZoneLive
from drivers.relays.base import PowerMeter

log = logging.getLogger(__name__)

POLL_S = 1.0  # between two queries of the meter while the window is open
NOTICE_S = 0.25  # how often the watch looks whether the audio has started


@dataclass(frozen=True)
class Sample:
    """One query of the meter, `after_s` seconds after the audio's start (watts None: no
    answer came)."""

    after_s: float
    watts: float | None


@dataclass(frozen=True)
class PowerVerdict:
    confirmed: bool | None  # None: the zone went off air before the window closed (no verdict)
    watts: float | None  # the most the meter read within the window (None: no reading)
    reason: str  # why it is not confirmed, Chinese first ("" when it is)


def verdict(
    samples: Sequence[Sample],
    check: PowerCheckConfig,
    ref: str,
    *,
    metered: bool = True,
    complete: bool = True,
) -> PowerVerdict:
    """Confirmed when a reading within `within_s` of the audio's start is at least `min_w`;
    none either way when the zone went off air (`complete` False) before that was seen."""
    if not metered:
        return PowerVerdict(
            False, None, f"继电器 {ref} 无法测量功率 / relay {ref} cannot measure power"
        )
    seen = [s.watts for s in samples if s.watts is not None and 0 <= s.after_s <= check.within_s]
    most = max(seen, default=None)
    if most is not None and most >= check.min_w:
        return PowerVerdict(True, most, "")
    within, floor = f"{check.within_s:g}", f"{check.min_w:g}"
    if not complete:  # preempted, cut or stopped early: silence is no sign of a dead amplifier
        return PowerVerdict(None, most, (
            f"开播 {within} 秒内已停播，未作判断 / off air within {within} s of the audio's "
            "start: no verdict"
        ))  # fmt: skip
    if most is None:
        return PowerVerdict(False, None, (
            f"开播 {within} 秒内 {ref} 无功率读数 / no power reading from {ref} within "
            f"{within} s of the audio's start"
        ))  # fmt: skip
    return PowerVerdict(False, most, (
        f"开播 {within} 秒内 {ref} 功率最高 {most:g} W，低于 {floor} W / power on {ref} at most "
        f"{most:g} W within {within} s of the audio's start, below {floor} W"
    ))  # fmt: skip


class PowerHost(Protocol):
    """What the watch needs of its airing's runner (kept narrow: no import of the runner)."""

    ctx: RunnerContext
    clock: WaitingClock
    airing: Airing
    state: AiringState


def checked_zones(live: Sequence[ZoneLive]) -> list[ZoneLive]:
    return [zone for zone in live if zone.zone.power is not None]


async def watch_power(host: PowerHost, zone: ZoneLive, stop: asyncio.Event) -> None:
    """One zone's check: from the audio's start, ask the meter until `min_w` is seen or the
    window closes, then record the verdict. Stopped or cancelled first, it records what it
    has (no verdict, unless `min_w` was seen) if the audio had started."""
    check, clock = zone.zone.power, host.clock
    assert check is not None  # only zones with a check are watched
    ref = check.relay or zone.zone.relays[0]
    device, channel = host.ctx.bank.channel(ref)
    meter = device.power_meter()
    while host.state.audio_start is None:
        if await clock.wait_event(stop, NOTICE_S):
            return  # over before any audio went out: nothing to confirm
    late_s = max((clock.now() - host.state.audio_start).total_seconds(), 0.0)
    start = clock.monotonic() - late_s
    deadline = start + check.within_s
    samples: list[Sample] = []
    try:
        await _sample(meter, channel, check, clock, deadline, start, samples, zone, stop)
    finally:  # cancelled too (the airing's tasks are stopped, then cancelled): what it has
        seen = any(s.watts is not None and s.watts >= check.min_w for s in samples)
        complete = seen or clock.monotonic() >= deadline
        found = verdict(samples, check, ref, metered=meter is not None, complete=complete)
        record(host, zone, check, ref, found)


async def _sample(
    meter: PowerMeter | None, channel: int, check: PowerCheckConfig, clock: WaitingClock,
    deadline: float, start: float, samples: list[Sample], zone: ZoneLive, stop: asyncio.Event,
) -> None:  # fmt: skip
    """Ask the meter until `min_w` is seen, the window closes, the zone is off or `stop`."""
    while meter is not None and not stop.is_set() and zone.on_air:
        left = deadline - clock.monotonic()
        if left <= 0:
            return
        watts = await _read(meter, channel, left, clock, stop)
        samples.append(Sample(clock.monotonic() - start, watts))
        if watts is not None and watts >= check.min_w:
            return
        if await clock.wait_event(stop, min(POLL_S, max(deadline - clock.monotonic(), 0.0))):
            return


async def _read(
    meter: PowerMeter, channel: int, left_s: float, clock: WaitingClock, stop: asyncio.Event
) -> float | None:
    """One reading, waited for on the clock at most `left_s` (and not past `stop`)."""
    answered = asyncio.Event()
    reading = asyncio.ensure_future(meter.read_power(channel))
    stopped = asyncio.ensure_future(stop.wait())
    for task in (reading, stopped):
        task.add_done_callback(lambda _: answered.set())
    try:
        await clock.wait_event(answered, left_s)
    finally:
        for task in (reading, stopped):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopped
    if not reading.done() or reading.cancelled():
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reading  # let a cancelled read finish (a driver that swallows it ends here)
        return None
    if reading.exception() is not None:
        log.warning("power reading of channel %d failed: %r", channel, reading.exception())
        return None
    result = reading.result()
    return None if result is None else result.watts


def record(
    host: PowerHost, zone: ZoneLive, check: PowerCheckConfig, ref: str, found: PowerVerdict
) -> None:
    """The verdict into the zone's row; not confirmed, a fault in the status and an alert."""
    ctx, airing_id = host.ctx, host.airing.id
    confirmed = None if found.confirmed is None else int(found.confirmed)
    ctx.store.update(
        airing_id, [zone.zone.id], audio_confirmed=confirmed, power_w=found.watts,
        power_reason=found.reason,
    )  # fmt: skip
    if found.confirmed is not False:
        log.info("airing %s: %s power check on %s: %s", airing_id, zone.zone.id, ref,
                 found.reason or f"confirmed, {found.watts:g} W")  # fmt: skip
        return
    text = f"播出 {airing_id} {zone.zone.name}功放供电未确认 / {zone.zone.id}: {found.reason}"
    log.warning("%s", text)
    now = ctx.clock.now()
    ctx.fault(text, now)
    if ctx.notify is not None:  # never blocks: the notifier queues it off the air's loop
        ctx.notify(power_unconfirmed(zone.zone.id, airing_id, found.watts, check.min_w, now))
