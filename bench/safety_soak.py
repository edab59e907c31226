"""Safety soak (issue 9): relays on with nothing airing, open rows and false reasons, under faults.

Runs the real daemon (`broadcastctl run`) on short slots a few seconds apart, against three
Tasmota doubles (rack with two amplifier channels, east, west) on a real Mosquitto, and injects
faults at random moments: kill -9 of the daemon (before the wake, during the amplifier
power-up, during zones-on, on air, during the postroll), each followed by a restart; broker
outages (Mosquitto stopped 0.5-5 s around and inside airings); SIGTERMs inside airings, each
followed by a restart; another process holding `BEGIN IMMEDIATE` on the station's SQLite file
for 8 s from T-3 s; the station folder on a 16 MiB tmpfs filled up mid-airing.

Relay time is measured on the devices' side: every change of a double's relay state is
recorded with its time. A relay (zone or amplifier) that is ON outside every slot's planned
window [T - preroll - settles, T + duration + postroll], widened by GRACE_S at both ends (the
goal's "+ 1 s"), counts with the seconds it stays on beyond it. After a kill -9 or a lost OFF
the device's dead-man (PulseTime, deadman_margin_s past the planned end) switches it off by
itself: excess up to about the margin is that design; more than that is a defect.
After the SIGTERM run the as-run table is read once the daemon has stopped: rows with
`outcome IS NULL` are open, and a reason claiming a crash ("daemon died") is false there.
Clock steps need libfaketime (the machine's clock is never changed); without it they are
reported as not measured.

A kill -9 is followed by a restart after --restart-delay (2 s: the shipped unit's RestartSec),
a SIGTERM by one within 1 s (as `systemctl restart`). About 14 minutes with the defaults.

Usage: .venv/bin/python bench/safety_soak.py [--seed N] [--kills 30] [--outages 14]
       [--sigterms 10] [--restart-delay 2] [--quick] [--no-lock] [--no-disk] [--keep] [-v]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.mosquitto import Mosquitto
from soak_assess import Case, assess
from soak_disk import run_disk_full
from soak_faults import run_kills, run_locked, run_outages, run_sigterms
from soak_report import case_line, count, figures, notable_log, report_incident, zone_timing
from soak_station import (
    GRACE_S,
    KINDS,
    MARGIN,
    MIN_JOIN,
    POSTROLL,
    PREROLL,
    REARM,
    SETTLE,
    SETTLES,
    Phase,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--outages", type=int, default=14)
    parser.add_argument("--sigterms", type=int, default=10)
    parser.add_argument(
        "--restart-delay",
        type=float,
        default=2.0,
        help="seconds from a kill -9 to the restart (the shipped unit's RestartSec=2)",
    )
    parser.add_argument("--quick", action="store_true", help="5 kills, 3 outages, 3 SIGTERMs")
    parser.add_argument("--no-lock", action="store_true", help="skip the locked-database case")
    parser.add_argument("--no-disk", action="store_true", help="skip the disk-full case")
    parser.add_argument("--keep", action="store_true", help="keep station folders and logs")
    parser.add_argument("-v", "--verbose", action="store_true", help="logs for every incident")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.outages, args.sigterms = 5, 3, 3
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    rng = random.Random(seed)
    began = time.monotonic()
    print(
        f"safety soak: seed {seed}; {args.kills} kill -9, {args.outages} broker outages,"
        f" {args.sigterms} SIGTERMs; preroll {PREROLL:g}s, settle {SETTLE:g}s x2,"
        f" postroll {POSTROLL:g}s, deadman_margin_s {MARGIN:g}, rearm_s {REARM:g},"
        f" min_join_s {MIN_JOIN:g}",
        flush=True,
    )
    broker = Mosquitto()
    broker.start()
    results: list[tuple[str, Phase, list[Case]]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp_name:
        tmp = Path(tempfile.mkdtemp(prefix="bench-soak-")) if args.keep else Path(tmp_name)
        if args.keep:
            print(f"station folders and daemon logs kept under {tmp}", flush=True)
        runs: list[tuple[str, Callable[[], tuple[Phase, list[Case]]]]] = []
        if args.kills:
            runs.append(
                ("kill -9", lambda: run_kills(rng, broker, tmp, args.kills, 8, args.restart_delay))
            )
        if args.outages:
            runs.append(("broker", lambda: run_outages(rng, broker, tmp, args.outages, 8)))
        if args.sigterms:
            runs.append(("SIGTERM", lambda: run_sigterms(rng, broker, tmp, args.sigterms, 6)))
        if not args.no_lock:
            runs.append(("locked db", lambda: run_locked(rng, broker, tmp)))
        for label, run in runs:
            print(f"== {label}", file=sys.stderr, flush=True)
            phase, cases = run()
            phase.finish()
            results.append((label, phase, cases))
        if not args.no_disk:
            print("== disk full", file=sys.stderr, flush=True)
            disk, cases, why = run_disk_full(rng, broker, tmp, tmp)
            if disk is None:
                notes.append(why)
            else:
                results.append(("disk full", disk, cases))
        for label, phase, cases in results:
            left_on = phase.devices.any_on()
            notes += [f"{label}: {s}" for s in assess(cases, phase.slots, phase.devices, phase.end)]
            if left_on:
                notes.append(f"{label}: relays still ON after the daemon stopped: {left_on}")
            phase.devices.stop()
        broker.close()
        report(args, seed, time.monotonic() - began, results, notes)
    return 0


def report(
    args: argparse.Namespace,
    seed: int,
    took_s: float,
    results: list[tuple[str, Phase, list[Case]]],
    notes: list[str],
) -> None:
    print("\ncases (times from the slot's T; 'out': worst relay's ON time outside the window):")
    for _label, phase, cases in results:
        for case in cases:
            print(case_line(phase, case))
    for label, phase, cases in results:
        for case in cases:
            if case.excess_s > 0:
                report_incident(phase, case, args.verbose)
        if args.verbose:
            for line in notable_log(phase.daemon)[:30]:
                print(f"  {label} daemon: {line}")
        if label in ("locked db", "disk full"):
            print(f"\n{label}:")
            for case in cases:
                print(f"    {case.kind}: {case.note}")
            for slot in phase.slots:
                print(zone_timing(phase, slot))

    print(f"\nseed {seed}; campaign {took_s:.0f} s")
    print("1. Relays on with nothing airing (device side; goal: 0 s beyond postroll + 1 s)")
    print(f"{'fault':<14} {'n':>3}  {'outside window s':>15}  {'beyond goal s':>15}  >goal >margin")
    print(f"{'':<14} {'':>3}  {'median':>7} {'max':>7}  {'median':>7} {'max':>7}")
    for label, _phase, cases in results:
        print(figures(label, cases))
        if label == "kill -9":
            for kind in [*KINDS, "waking", "after"]:
                mine = [c for c in cases if c.kind == kind]
                if mine:
                    print(figures(f"  {kind}", mine))
    print(
        f"  outside window: the worst relay's ON time outside [T-{PREROLL + SETTLES:g}s,"
        f" T+D+{POSTROLL:g}s]; beyond goal: past that window + {GRACE_S:g} s; >margin: beyond"
        f" goal by more than deadman_margin_s ({MARGIN:g} s), not explained by the dead-man"
    )
    for note in notes:
        print(f"  note: {note}")

    print("2. Open rows and false reasons (read once the daemon had stopped)")
    for label, phase, _cases in results:
        rows = phase.final_rows
        expected = " (kill -9: true there)" if label == "kill -9" and phase.died_rows() else ""
        print(
            f"  {label:<10} {len(rows):>3} rows, open {len(phase.open_rows())},"
            f" 'daemon died' {len(phase.died_rows())}{expected}; outcomes {count(rows)}"
        )
    sigterm = [phase for label, phase, _c in results if label == "SIGTERM"]
    if sigterm:
        bad = sigterm[0].open_rows() + sigterm[0].died_rows()
        verdict = "ok" if not bad else "DEFECT"
        print(
            f"  after {args.sigterms} SIGTERMs (+ the final stop): open rows"
            f" {len(sigterm[0].open_rows())}, false 'daemon died' {len(sigterm[0].died_rows())}"
            f" -> {verdict}"
        )
        for r in bad:
            print(f"    row: {r['slot']} {r['zone']} {r['outcome']} {r['reason']}")
        reasons: dict[str, int] = {}
        for r in sigterm[0].final_rows:
            key = f"{r['outcome']}: {(r['reason'] or '-').split(' / ')[-1]}"
            reasons[key] = reasons.get(key, 0) + 1
        for key, n in sorted(reasons.items()):
            print(f"    {n:>3} x {key}")
    else:
        print("  SIGTERMs: not run")
    if shutil.which("faketime") is None:
        print("  clock steps: not measured (needs libfaketime)")
    else:
        print("  clock steps: not measured (libfaketime is installed but not driven by this bench)")


if __name__ == "__main__":
    raise SystemExit(main())
