"""The safety soak's fault runs on the daemon: kill -9s, broker outages, SIGTERMs, each
followed by a restart, and another process holding the station database locked."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.daemon import Daemon
from peers.mosquitto import Mosquitto
from soak_assess import Case
from soak_station import (
    KINDS,
    POSTROLL,
    PREROLL,
    SETTLES,
    WAKE_LEAD,
    Phase,
    Slot,
    make_slots,
    sleep_until,
)


def restart(daemon: Daemon, attempts: int = 3) -> float:
    """Start the daemon again, as systemd's Restart=always would (another try 1 s after a
    failed start); the Unix time it answered /healthz (0 if it never started)."""
    for attempt in range(1, attempts + 1):
        try:
            daemon.start(timeout=25.0)
            return time.time()
        except (RuntimeError, TimeoutError) as exc:
            last = next((ln for ln in reversed(str(exc).splitlines()) if ln.strip()), "")
            print(f"    ! start {attempt} failed: {last[:160]}", file=sys.stderr)
            time.sleep(1.0)
    return 0.0


def healthy(case: Case) -> str:
    return f"healthy T{case.back_at - case.slot.t:+.2f}s" if case.back_at else "never restarted"


def kill_moment(rng: random.Random, kind: str, slot: Slot) -> float:
    t, d = slot.t, slot.seconds
    return {
        "before_wake": t - WAKE_LEAD - rng.uniform(0.3, 2.0),
        "power_up": t - PREROLL - SETTLES + rng.uniform(0.05, SETTLES - 0.05),
        "zones_on": t - PREROLL + rng.uniform(-0.02, 0.25),
        "on_air": t + rng.uniform(0.1, d - 0.1),
        "postroll": t + d + rng.uniform(0.05, POSTROLL - 0.05),
    }[kind]


def inject(
    phase: Phase, cases: list[Case], fault: Callable[[Case], None]
) -> tuple[Phase, list[Case]]:
    """Start the phase's daemon, then at each case's planned moment note the time and inject
    its `fault`."""
    phase.start()
    for case in cases:
        sleep_until(case.planned_at)
        case.at = time.time()
        fault(case)
    return phase, cases


def run_kills(
    rng: random.Random, broker: Mosquitto, tmp: Path, count: int, gap_s: int, restart_s: float
) -> tuple[Phase, list[Case]]:
    slots = make_slots(rng, count, gap_s, "k")
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    phase = Phase("kill9", broker, tmp / "kill9", slots)
    cases = [Case("kill9", k, s, kill_moment(rng, k, s)) for k, s in zip(kinds, slots, strict=True)]

    def kill9(case: Case) -> None:
        delay = restart_s + rng.uniform(0.0, 0.3)  # the unit's RestartSec and a little
        phase.daemon.kill9()
        time.sleep(delay)
        case.back_at = restart(phase.daemon)
        actual = _phase_of(case.slot, case.at)
        late = f" (meant {case.kind}: the restart before ran late)" if actual != case.kind else ""
        case.kind = actual
        case.note = f"restart +{delay:.2f}s, {healthy(case)}{late}"
        print(f"  kill -9 {case.kind:<11} {case.offset()}  {case.note}", file=sys.stderr)

    return inject(phase, cases, kill9)


def run_outages(
    rng: random.Random, broker: Mosquitto, tmp: Path, count: int, gap_s: int
) -> tuple[Phase, list[Case]]:
    slots = make_slots(rng, count, gap_s, "o")
    phase = Phase("outage", broker, tmp / "outage", slots)
    cases = []
    for s in slots:
        moment = rng.uniform(s.t - WAKE_LEAD, s.t + s.seconds + POSTROLL + 0.5)
        cases.append(Case("outage", "", s, moment, length_s=rng.uniform(0.5, 5.0)))

    def outage(case: Case) -> None:
        broker.stop()
        time.sleep(case.length_s)
        broker.start()
        case.back_at = time.time()
        case.kind = f"{case.length_s:.1f}s down"
        print(f"  broker down {case.offset()} for {case.back_at - case.at:.2f} s", file=sys.stderr)

    return inject(phase, cases, outage)


def run_sigterms(
    rng: random.Random, broker: Mosquitto, tmp: Path, count: int, gap_s: int
) -> tuple[Phase, list[Case]]:
    slots = make_slots(rng, count, gap_s, "t")
    phase = Phase("sigterm", broker, tmp / "sigterm", slots)
    cases = [
        Case("sigterm", "", s, rng.uniform(s.window[0], s.t + s.seconds - 0.05)) for s in slots
    ]

    def sigterm(case: Case) -> None:
        delay = rng.uniform(0.0, 1.0)
        code = phase.daemon.stop()
        stopped = time.time()
        time.sleep(delay)
        case.back_at = restart(phase.daemon)
        case.kind = _phase_of(case.slot, case.at)
        case.note = f"exit {code} in {stopped - case.at:.2f}s, {healthy(case)}"
        print(f"  SIGTERM {case.kind:<11} {case.offset()}  {case.note}", file=sys.stderr)

    return inject(phase, cases, sigterm)


def _phase_of(slot: Slot, at: float) -> str:
    t, d = slot.t, slot.seconds
    if at < t - PREROLL - SETTLES:
        return "before_wake" if at < t - WAKE_LEAD else "waking"
    if at < t - PREROLL:
        return "power_up"
    if at < t:
        return "zones_on"
    if at < t + d:
        return "on_air"
    return "postroll" if at < t + d + POSTROLL else "after"


def run_locked(rng: random.Random, broker: Mosquitto, tmp: Path) -> tuple[Phase, list[Case]]:
    """Another process holds BEGIN IMMEDIATE on the station database for 8 s from T - 3 s."""
    slots = make_slots(rng, 2, 8, "l")
    slots[0].seconds = 6.0
    phase = Phase("locked", broker, tmp / "locked", slots)
    case = Case("locked_db", "BEGIN IMMEDIATE 8s", slots[0], slots[0].t - 3.0, length_s=8.0)
    phase.start()
    holder = (
        "import sqlite3, sys, time\n"
        "db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n"
        "db.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "db.execute('ROLLBACK')\n"
    )
    sleep_until(case.planned_at)
    case.at = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, str(phase.station.db), str(case.length_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    locked_at = time.time()
    statuses = []
    while proc.poll() is None:
        try:
            record = phase.daemon.get("/api/status").get("record", {})
            statuses.append(bool(record.get("ok", True)))
        except OSError:
            statuses.append(True)
        time.sleep(0.5)
    case.back_at = time.time()
    case.note = (
        f"lock {'held' if got == 'locked' else 'NOT taken'} from T{locked_at - case.slot.t:+.2f}s"
        f" to T{case.back_at - case.slot.t:+.2f}s; status record.ok false seen:"
        f" {'yes' if not all(statuses) else 'no'}"
    )
    print(f"  locked db: {case.note}", file=sys.stderr)
    return phase, [case]
