"""One fault case of the safety soak, and what the devices say about it: each relay's ON
time outside the slots' windows, and beyond them by more than the grace."""

from __future__ import annotations

from dataclasses import dataclass, field

from soak_devices import Devices
from soak_station import GRACE_S, Slot


@dataclass
class Case:
    fault: str  # kill9 | outage | sigterm | locked_db | disk_full
    kind: str  # kill point, or a short description
    slot: Slot
    planned_at: float  # Unix time the fault was meant to start
    length_s: float = 0.0  # outage / lock length
    at: float = 0.0  # Unix time it happened
    back_at: float = 0.0  # daemon healthy again / broker accepting again
    note: str = ""
    excess_s: float = 0.0  # worst relay: seconds ON beyond the window + grace
    outside_s: float = 0.0  # worst relay: seconds ON outside the window (no grace)
    worst_relay: str = ""
    outside_relay: str = ""
    outside_spans: list[tuple[str, float, float]] = field(default_factory=list)
    incidents: list[tuple[str, float, float]] = field(default_factory=list)  # relay, on, off

    def offset(self) -> str:
        return f"T{self.at - self.slot.t:+.2f}s"


def _measure(spans: list[tuple[float, float]], allowed: list[tuple[float, float]]) -> float:
    """Seconds of `spans` not covered by `allowed` (both lists of (begin, end))."""
    total = 0.0
    for begin, end in spans:
        covered = 0.0
        for a, b in allowed:
            lo, hi = max(begin, a), min(end, b)
            if hi > lo:
                covered += hi - lo
        total += max(0.0, (end - begin) - covered)
    return total


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for begin, end in sorted(spans):
        if out and begin <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((begin, end))
    return out


def assess(cases: list[Case], slots: list[Slot], devices: Devices, until: float) -> list[str]:
    """Set each case's excess from the relay changes; returns notes on ON time no case owns."""
    windows = _merge([s.window for s in slots])
    graced = _merge([(a - GRACE_S, b + GRACE_S) for a, b in windows])
    ordered = sorted(slots, key=lambda s: s.t)
    # a case owns the time from its slot's window start to the next slot's window start
    bounds: dict[str, tuple[float, float]] = {}
    for i, s in enumerate(ordered):
        nxt = ordered[i + 1].window[0] - GRACE_S if i + 1 < len(ordered) else until
        bounds[s.name] = (s.window[0] - GRACE_S, nxt)
    stray: list[str] = []
    by_slot = {c.slot.name: c for c in cases}
    for relay in devices.relays:
        spans = relay.intervals(until)
        for s in ordered:
            lo, hi = bounds[s.name]
            mine = [(max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi]
            excess = _measure(mine, graced)
            outside = _measure(mine, windows)
            case = by_slot.get(s.name)
            if excess > 0 and case is None:
                stray.append(f"{relay.name} on {excess:.2f} s beyond grace near slot {s.name}")
            if case is None:
                continue
            if excess > case.excess_s:
                case.excess_s, case.worst_relay = excess, relay.name
            if outside > case.outside_s:
                case.outside_s, case.outside_relay = outside, relay.name
            if outside > 0.05:
                case.outside_spans += [
                    (relay.name, a, b) for a, b in mine if _measure([(a, b)], windows) > 0.05
                ]
            if excess > 0:
                case.incidents += [
                    (relay.name, a, b) for a, b in mine if _measure([(a, b)], graced) > 0
                ]
        first = ordered[0].window[0] - GRACE_S
        early = [(a, min(b, first)) for a, b in spans if a < first]
        if early and _measure(early, graced) > 0:
            stray.append(f"{relay.name} on before the first slot: {early}")
    return stray
