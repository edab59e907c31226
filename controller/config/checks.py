"""Cross-checks of a config that passed the schema, each reporting `file:line: key.path: reason`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from itertools import combinations

from controller.config.folders import check_folders_creatable
from controller.config.models import WEEKDAYS, Config, SlotConfig
from controller.config.timers import (
    check_deadman_fits_tasmota,
    check_rearm_within_board_timers,
    check_rearm_within_margin,
)
from controller.config.yamlio import KeyPath, Locator
from drivers.protocols.onbon_cmd import FONTS
from drivers.settings.devices import OnbonDisplayConfig

DAY_S = 86_400
WEEK_S = 7 * DAY_S


def check_relay_ids_unique(config: Config, at: Locator) -> list[str]:
    return _unique([r.id for r in config.relays], ("relays",), "id", "relay id", at)


def check_zone_ids_unique(config: Config, at: Locator) -> list[str]:
    ids = [z.id for z in config.zones]
    errors = _unique(ids, ("zones",), "id", "zone id", at)
    # `zones: all` already means every zone, so a zone called "all" could never be named alone.
    reserved = "'all' is reserved (zones: all means every zone); choose another id"
    return errors + [
        at.error(("zones", i, "id"), reserved) for i, z in enumerate(ids) if z == "all"
    ]


def check_slot_names_unique(config: Config, at: Locator) -> list[str]:
    names = [s.name for s in config.schedule.slots]
    return _unique(names, ("schedule", "slots"), "name", "slot name", at)


def check_relay_channels(config: Config, at: Locator) -> list[str]:
    """Zone and amplifier relays are "device:channel" on a defined relay with that channel."""
    channels = {r.id: r.channels for r in config.relays}
    refs: list[tuple[KeyPath, str]] = [
        (("zones", i, "relays", j), ref)
        for i, zone in enumerate(config.zones)
        for j, ref in enumerate(zone.relays)
    ]
    refs += [(("amplifiers", i, "relay"), amp.relay) for i, amp in enumerate(config.amplifiers)]
    refs += [
        (("zones", i, "power", "relay"), zone.power.relay)
        for i, zone in enumerate(config.zones)
        if zone.power is not None and zone.power.relay is not None
    ]
    errors = []
    for path, ref in refs:
        device, _, channel = ref.rpartition(":")
        if not device or not channel.isdigit():
            errors.append(at.error(path, f'{ref!r} is not "device:channel" (e.g. "east:1")'))
        elif device not in channels:
            errors.append(at.error(path, f"relay {device!r} is not defined under relays"))
        elif not 1 <= int(channel) <= channels[device]:
            reason = f"relay {device!r} has channels 1..{channels[device]}, not {channel}"
            errors.append(at.error(path, reason))
    return errors


# Relay types whose driver reads power (drivers/relays: power_meter); `fake` simulates one.
METERED_TYPES = frozenset({"tasmota", "shelly", "fake"})


def check_power_meters(config: Config, at: Locator) -> list[str]:
    """A zone's power check reads a relay that can meter: not a Modbus board, not an LCUS."""
    types = {r.id: r.type for r in config.relays}
    errors = []
    for i, zone in enumerate(config.zones):
        if zone.power is None:
            continue
        ref = zone.power.relay or zone.relays[0]
        kind = types.get(ref.rpartition(":")[0])
        if kind is not None and kind not in METERED_TYPES:
            path: KeyPath = ("zones", i, "power", *(["relay"] if zone.power.relay else []))
            errors.append(at.error(path, (
                f"继电器 {ref!r}（{kind}）无法测量功率，请指定带电量计量的 Tasmota 或 Shelly 通道 /"
                f" relay {ref!r} ({kind}) cannot measure power: name a Tasmota with energy "
                "monitoring or a Shelly PM channel"
            )))  # fmt: skip
    return errors


def check_spares(config: Config, at: Locator) -> list[str]:
    """A spare stands in for another stage of the chain, not for itself or for nothing."""
    relays = [a.relay for a in config.amplifiers]
    errors = []
    for i, amp in enumerate(config.amplifiers):
        if amp.spare_for is None:
            continue
        if amp.spare_for == amp.relay or amp.spare_for not in relays:
            errors.append(at.error(
                ("amplifiers", i, "spare_for"),
                f"备用功放须替代链中另一级 / spare_for {amp.spare_for!r} is not another "
                "amplifier's relay",
            ))  # fmt: skip
    return errors


def check_zone_references(config: Config, at: Locator) -> list[str]:
    """Slots, blackouts and amplifiers name zones that exist (or say `all`)."""
    known = {z.id for z in config.zones}
    users: list[tuple[KeyPath, str, Sequence[str] | str]] = [
        (("schedule", "slots", i), "slot", s.zones) for i, s in enumerate(config.schedule.slots)
    ]
    users += [(("blackouts", i), "blackout", b.zones) for i, b in enumerate(config.blackouts)]
    users += [(("amplifiers", i), "amplifier", a.zones) for i, a in enumerate(config.amplifiers)]
    errors = []
    for path, what, zones in users:
        if zones == "all":
            continue
        if not zones:
            article = "an" if what[0] in "aeiou" else "a"
            reason = f"{article} {what} needs zones: all or zone ids"
            errors.append(at.error((*path, "zones"), reason))
        for k, zone in enumerate(zones):
            if zone not in known:
                reason = f"zone {zone!r} is not defined under zones"
                errors.append(at.error((*path, "zones", k), reason))
    return errors


def check_blackout_order(config: Config, at: Locator) -> list[str]:
    errors = []
    for i, b in enumerate(config.blackouts):
        if b.end <= b.start:
            reason = f"ends at {b.end:%Y-%m-%d %H:%M}, not after its start {b.start:%Y-%m-%d %H:%M}"
            errors.append(at.error(("blackouts", i, "end"), reason))
    return errors


def check_slot_lengths(config: Config, at: Locator) -> list[str]:
    """A slot outlasts its own fade-out (the schema keeps it under a day)."""
    fade = config.audio.fade_out_s
    errors = []
    for i, slot in enumerate(config.schedule.slots):
        path = ("schedule", "slots", i, "duration")
        if slot.duration <= fade:
            reason = f"{slot.duration:g}s is too short: it must be longer than audio.fade_out_s"
            errors.append(at.error(path, f"{reason} ({fade:g}s)"))
    return errors


def check_clip_lengths(config: Config, at: Locator) -> list[str]:
    """media.min_s is below media.max_s, or no clip could ever be accepted."""
    media = config.media
    if media.min_s < media.max_s:
        return []
    low, high = f"{media.min_s:g}", f"{media.max_s:g}"
    return [
        at.error(
            ("media", "max_s"),
            f"{high} 秒不大于 media.min_s（{low} 秒）/ {high} s is not above media.min_s"
            f" ({low} s): no clip could be accepted",
        )
    ]


def check_display_fonts(config: Config, at: Locator) -> list[str]:
    """An Onbon card renders only its built-in font sizes; any other stops the screen's driver."""
    sizes = "/".join(map(str, sorted(FONTS)))
    return [
        at.error(
            ("displays", i, "font_size"),
            f"字号 {d.font_size} 不受支持（可用 {sizes}）/ font_size {d.font_size} px: the card"
            f" has {sizes} px fonts",
        )
        for i, d in enumerate(config.displays)
        if isinstance(d, OnbonDisplayConfig) and d.font_size not in FONTS
    ]


def check_slot_overlaps(config: Config, at: Locator) -> list[str]:
    """No two slots air at the same time, weekday masks included: the station has one audio
    output, so even slots on different zones cannot overlap."""
    slots = list(enumerate(config.schedule.slots))
    errors = []
    for (_, a), (j, b) in combinations(slots, 2):
        if _overlap(a, b):
            reason = f"slot {b.name!r} ({_span(b)}) overlaps slot {a.name!r} ({_span(a)})"
            errors.append(
                at.error(
                    ("schedule", "slots", j, "start"), f"{reason}; the station has one audio output"
                )
            )
    return errors


def check_slot_playlists(config: Config, at: Locator, playlist_names: Collection[str]) -> list[str]:
    """Every slot's playlist is a file playlists_dir/<name>.yaml."""
    folder = config.station.playlists_dir
    errors = []
    for i, slot in enumerate(config.schedule.slots):
        path = ("schedule", "slots", i, "playlist")
        if slot.playlist not in playlist_names:
            reason = f"playlist {slot.playlist!r} not found (no file {folder / slot.playlist}.yaml)"
            errors.append(at.error(path, reason))
    return errors


def check_led_displays(config: Config, at: Locator) -> list[str]:
    """led.displays names existing displays; display ids are unique."""
    ids = [d.id for d in config.displays]
    errors = [
        at.error(("displays", i, "id"), f"display id {d!r} is used twice")
        for i, d in enumerate(ids)
        if d in ids[:i]
    ]
    if config.led.displays != "all":
        for i, name in enumerate(config.led.displays):
            if name not in ids:
                errors.append(at.error(("led", "displays", i), f"no display {name!r}"))
    return errors


CHECKS: tuple[Callable[[Config, Locator], list[str]], ...] = (
    check_relay_ids_unique,
    check_zone_ids_unique,
    check_slot_names_unique,
    check_relay_channels,
    check_zone_references,
    check_spares,
    check_power_meters,
    check_blackout_order,
    check_slot_lengths,
    check_slot_overlaps,
    check_led_displays,
    check_clip_lengths,
    check_display_fonts,
    check_rearm_within_margin,
    check_rearm_within_board_timers,
    check_deadman_fits_tasmota,
    check_folders_creatable,
)


def run_checks(config: Config, at: Locator, playlist_names: Collection[str]) -> list[str]:
    """All cross-checks on a config that already passed the schema."""
    errors = [message for check in CHECKS for message in check(config, at)]
    errors += check_slot_playlists(config, at, playlist_names)
    fallback = config.media.fallback_playlist
    if fallback is not None and fallback not in playlist_names:
        errors.append(at.error(("media", "fallback_playlist"), f"no playlist {fallback!r}"))
    return sorted(errors, key=lambda m: int(m[len(at.file) + 1 :].partition(":")[0]))


def _unique(values: list[str], list_path: KeyPath, key: str, what: str, at: Locator) -> list[str]:
    first: dict[str, int] = {}
    errors = []
    for i, value in enumerate(values):
        if value in first:
            reason = f"{what} {value!r} is already used by {list_path[-1]}[{first[value]}]"
            errors.append(at.error((*list_path, i, key), reason))
        first.setdefault(value, i)
    return errors


def _zone_set(slot: SlotConfig, all_zones: set[str]) -> set[str]:
    return all_zones if slot.zones == "all" else set(slot.zones)


def _weekly_starts(slot: SlotConfig) -> list[int]:
    t = slot.start
    days = range(7) if slot.days == "daily" else [WEEKDAYS.index(d) for d in set(slot.days)]
    return [d * DAY_S + t.hour * 3600 + t.minute * 60 + t.second for d in days]


def _overlap(a: SlotConfig, b: SlotConfig) -> bool:
    # On a week-long circle, so Sunday 23:50 + 30m runs into Monday 00:10.
    return any(
        (sb - sa) % WEEK_S < a.duration or (sa - sb) % WEEK_S < b.duration
        for sa in _weekly_starts(a)
        for sb in _weekly_starts(b)
    )


def _span(slot: SlotConfig) -> str:
    start = slot.start.hour * 3600 + slot.start.minute * 60 + slot.start.second
    end = int(start + slot.duration) % DAY_S
    return f"{slot.start:%H:%M}–{end // 3600:02d}:{end % 3600 // 60:02d}"
