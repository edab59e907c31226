"""Cross-checks that the relays' dead-man timers the station sets fit the devices and stay armed."""

from __future__ import annotations

from controller.config.models import Config
from controller.config.yamlio import Locator
from drivers.protocols.modbus_boards import PROFILES
from drivers.protocols.tasmota import PULSETIME_MAX_S
from drivers.settings.devices import ModbusRtuRelayConfig, TasmotaRelayConfig


def check_rearm_within_margin(config: Config, at: Locator) -> list[str]:
    """A relay that lost its timer mid-airing (the device restarted, the board capped it) gets
    one back at the next re-arm; re-arming at least once per margin keeps the time it could
    run without one within the slack the station already allows after the planned end."""
    sched = config.schedule
    if sched.rearm_s <= sched.deadman_margin_s:
        return []
    rearm, margin = f"{sched.rearm_s:g}", f"{sched.deadman_margin_s:g}"
    return [
        at.error(
            ("schedule", "rearm_s"),
            f"{rearm} 秒长于 schedule.deadman_margin_s（{margin} 秒），请缩短"
            f" / {rearm} s is longer than schedule.deadman_margin_s ({margin} s);"
            " re-arm at least once per margin",
        )
    ]


def check_rearm_within_board_timers(config: Config, at: Locator) -> list[str]:
    """A Modbus board caps its own timer (R421A08 255 s, Waveshare 3276.7 s) and switches off
    when it runs out: the next re-arm, with the board's time to answer, must come first."""
    used = _devices_in_use(config)
    sched = config.schedule
    errors = []
    for relay in config.relays:
        if not isinstance(relay, ModbusRtuRelayConfig) or relay.id not in used:
            continue
        timed = PROFILES[relay.profile].timed_off
        if timed is None:
            continue
        answer = (relay.retries + 1) * relay.timeout_s
        if sched.rearm_s + answer >= timed.max_s:
            cycle, cap = f"{sched.rearm_s + answer:g}", f"{timed.max_s:g}"
            errors.append(
                at.error(
                    ("schedule", "rearm_s"),
                    f"重新设定间隔（含应答 {cycle} 秒）不短于继电器 {relay.id} 的定时上限 {cap} 秒"
                    f" / a re-arm every {sched.rearm_s:g} s (plus {answer:g} s for relay"
                    f" {relay.id!r} to answer) does not come before its {relay.profile} board's"
                    f" own timer of at most {cap} s runs out",
                )
            )
    return errors


def check_deadman_fits_tasmota(config: Config, at: Locator) -> list[str]:
    """Tasmota takes a PulseTime of at most 18 h; a longer dead-man fails the switch-on."""
    tasmota = {r.id for r in config.relays if isinstance(r, TasmotaRelayConfig)}
    if not tasmota:
        return []
    sched = config.schedule
    # Amplifiers get their timer before they settle, to cover the postroll too (runner.py).
    settle = sum(amp.settle_s for amp in config.amplifiers)
    amp_lead = settle + sched.preroll_s + sched.postroll_s + sched.deadman_margin_s
    amps_on_tasmota = {_device(amp.relay) for amp in config.amplifiers} & tasmota
    zone_devices = {zone.id: {_device(ref) for ref in zone.relays} for zone in config.zones}
    errors = []
    for i, slot in enumerate(sched.slots):
        zones = list(zone_devices) if slot.zones == "all" else slot.zones
        on_tasmota = set().union(*(zone_devices.get(z, set()) for z in zones)) & tasmota
        longest = max(
            [slot.duration + sched.preroll_s + sched.deadman_margin_s] * bool(on_tasmota)
            + [slot.duration + amp_lead] * bool(amps_on_tasmota),
            default=0.0,
        )
        if longest > PULSETIME_MAX_S:
            relay = sorted(on_tasmota | amps_on_tasmota)[0]
            errors.append(
                at.error(
                    ("schedule", "slots", i, "duration"),
                    f"定时关闭需 {longest:g} 秒，超过 Tasmota 上限 {PULSETIME_MAX_S:g} 秒"
                    f" / needs a dead-man of {longest:g} s, more than Tasmota relay {relay!r}"
                    f" takes ({PULSETIME_MAX_S:g} s); split the slot",
                )
            )
    return errors


def _devices_in_use(config: Config) -> set[str]:
    refs = [ref for zone in config.zones for ref in zone.relays]
    return {_device(ref) for ref in refs + [amp.relay for amp in config.amplifiers]}


def _device(ref: str) -> str:
    return ref.rpartition(":")[0]
