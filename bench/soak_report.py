"""What the safety soak prints for its cases: figure rows, one line a case, an incident's
relay spans with the device commands and daemon log around it, zone timings."""

from __future__ import annotations

import re
import statistics
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.daemon import Daemon
from soak_assess import Case
from soak_devices import clock
from soak_station import GRACE_S, MARGIN, PREROLL, Phase, Slot

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\S+) ")  # 2026-12-03T07:00:00.012+08:00


def log_lines(daemon: Daemon, begin: float, end: float, limit: int = 40) -> list[str]:
    """Daemon log lines stamped in [begin, end]. The daemon stamps them in station time with
    its offset; they are shown on the UTC clock of the device commands beside them."""
    out = []
    try:
        text = daemon.log_path.read_text(errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        m = _STAMP.match(line)
        if not m:
            continue
        at = datetime.fromisoformat(m.group(1)).timestamp()
        if begin <= at <= end:
            out.append(f"{clock(at)} {line[m.end() :]}"[:289])
    return out[:limit]


def notable_log(daemon: Daemon) -> list[str]:
    words = ("Traceback", "ERROR", "CRITICAL", "safe state", "Exception")
    try:
        text = daemon.log_path.read_text(errors="replace")
    except OSError:
        return []
    return [line[11:240] for line in text.splitlines() if any(w in line for w in words)]


def figures(name: str, cases: list[Case]) -> str:
    if not cases:
        return f"{name:<14} {'-':>3}"
    excess = [c.excess_s for c in cases]
    outside = [c.outside_s for c in cases]
    over = sum(1 for e in excess if e > 0)
    beyond_deadman = sum(1 for e in excess if e > MARGIN)
    return (
        f"{name:<14} {len(cases):>3}  {statistics.median(outside):7.2f} {max(outside):7.2f}"
        f"  {statistics.median(excess):7.2f} {max(excess):7.2f}  {over:>5} {beyond_deadman:>7}"
    )


def outcomes_of(phase: Phase, slot: Slot) -> str:
    """The slot's as-run rows, e.g. `east joined, west joined`, with short reasons."""
    parts = []
    for r in phase.final_rows:
        if r["slot"] != slot.name:
            continue
        reason = (r["reason"] or "").split(" / ")[-1][:60]
        suffix = f" ({reason})" if reason else ""
        parts.append(f"{r['zone']}:{r['outcome']}{suffix}")
    return ", ".join(parts) or "no rows"


def case_line(phase: Phase, case: Case) -> str:
    relays = {r.name: r for r in phase.devices.relays}
    spans = "; ".join(
        f"{relay} T{on - case.slot.t:+.2f}..T{off - case.slot.t:+.2f}"
        f" ({relays[relay].off_cause(off)})"
        for relay, on, off in case.outside_spans
    )
    return (
        f"  {case.fault:<9} {case.slot.name} D={case.slot.seconds:g} {case.kind:<22}"
        f" at {case.offset():<9} out {case.outside_s:4.2f}s beyond {case.excess_s:4.2f}s"
        f"  [{outcomes_of(phase, case.slot)}]" + (f"  on outside: {spans}" if spans else "")
    )


def report_incident(phase: Phase, case: Case, verbose: bool) -> None:
    lo, hi = case.slot.window
    print(
        f"\n[{case.fault}] slot {case.slot.name} T={clock(case.slot.t)} D={case.slot.seconds:g}"
        f" window {clock(lo)}..{clock(hi)} UTC; fault {case.kind} at {case.offset()}"
        f" ({case.note}): {case.worst_relay} on {case.excess_s:.2f} s beyond"
        f" postroll + {GRACE_S:g} s"
    )
    relays = {r.name: r for r in phase.devices.relays}
    for relay, on, off in case.incidents:
        print(
            f"    {relay} ON {clock(on)} .. OFF {clock(off)}"
            f" (T{on - case.slot.t:+.2f}s .. T{off - case.slot.t:+.2f}s),"
            f" off by {relays[relay].off_cause(off)}; back (restart/broker)"
            f" T{case.back_at - case.slot.t:+.2f}s"
        )
    if not verbose and case.excess_s <= MARGIN:
        return
    begin = min(case.at, lo) - 1.0
    end = max(off for _r, _on, off in case.incidents) + 0.5
    print("    device commands:")
    for line in phase.devices.command_log(begin, end):
        print(f"      {line}")
    print("    relay changes:")
    for line in phase.devices.change_log(begin, end):
        print(f"      {line}")
    print("    daemon log:")
    for line in log_lines(phase.daemon, begin, end):
        print(f"      {line}")


def zone_timing(phase: Phase, slot: Slot) -> str:
    """Zone relays' first ON and last OFF against the plan, as the devices saw them."""
    parts = []
    for relay in phase.devices.relays[2:]:
        spans = [
            (a, b)
            for a, b in relay.intervals(phase.end)
            if b > slot.window[0] - 1 and a < slot.window[1] + 1
        ]
        if not spans:
            parts.append(f"{relay.name} never on")
            continue
        on, off = spans[0][0], spans[-1][1]
        parts.append(
            f"{relay.name} on T{on - slot.t:+.2f}s (plan T-{PREROLL:g}s),"
            f" off T+D{off - slot.t - slot.seconds:+.2f}s"
        )
    return f"    slot {slot.name}: " + "; ".join(parts)


def count(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[str(r["outcome"])] = out.get(str(r["outcome"]), 0) + 1
    return dict(sorted(out.items()))
