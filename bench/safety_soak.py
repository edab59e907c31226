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
import gc
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from doubles.tasmota import TasmotaDouble
from peers.daemon import Daemon, StationDir, station_time, wall
from peers.mosquitto import Mosquitto, unique_name

PREROLL, SETTLE, POSTROLL = 1.0, 0.3, 0.5
SETTLES = 2 * SETTLE  # two amplifier channels, each followed by its settle
WAKE_LEAD = PREROLL + SETTLES + 2.0  # README "How an airing runs", step 1
MARGIN, REARM, MIN_JOIN = 3.0, 1.0, 2.0
GRACE_S = 1.0  # the goal: nothing on beyond postroll + 1 s
FIRST_LEAD_S = 8.0  # first slot this far after the daemon's config is written
KINDS = ("before_wake", "power_up", "zones_on", "on_air", "postroll")
DIED = ("daemon died", "守护进程中断")


# --- what the devices did -------------------------------------------------------------------


class RecordingPower(dict[int, bool]):
    """A double's relay states that note every change with its Unix time."""

    def __init__(self, initial: dict[int, bool], changes: list[tuple[float, int, bool]]) -> None:
        super().__init__(initial)
        self.changes = changes

    def __setitem__(self, channel: int, on: bool) -> None:
        if self.get(channel) != on:
            self.changes.append((time.time(), channel, on))
        super().__setitem__(channel, on)


@dataclass
class Relay:
    """One loudspeaker relay as the station sees it: a double and its channel."""

    name: str  # "rack:1" (amplifier 1), "east:1" ...
    double: TasmotaDouble
    channel: int
    changes: list[tuple[float, int, bool]]

    def intervals(self, until: float) -> list[tuple[float, float]]:
        """(on, off) Unix times of each ON period; still ON at `until` ends there."""
        out: list[tuple[float, float]] = []
        since: float | None = None
        for at, channel, on in list(self.changes):
            if channel != self.channel:
                continue
            if on and since is None:
                since = at
            elif not on and since is not None:
                out.append((since, at))
                since = None
        if since is not None:
            out.append((since, until))
        return out

    def off_cause(self, at: float) -> str:
        """Why the relay went OFF at `at`: an OFF command the device had just received, its own
        dead-man timer running out, or not at all (still on when measuring ended)."""
        if not any(ch == self.channel and not on and at == t for t, ch, on in self.changes):
            return "still on"
        names = {f"POWER{self.channel}"} | ({"POWER"} if self.channel == 1 else set())
        for c in list(self.double.commands):
            sent = c.command.upper() in names and c.payload.upper() in ("OFF", "0")
            if sent and -0.01 <= at - wall(c.at) <= 0.05:
                return "cmd"
        return "dead-man"


class Devices:
    """The three doubles of the e2e rig on fresh topics, their relay changes recorded."""

    def __init__(self, broker: Mosquitto) -> None:
        self.changes: dict[str, list[tuple[float, int, bool]]] = {}
        self.rack = self._make(broker, "rack", 2)
        self.east = self._make(broker, "east", 1)
        self.west = self._make(broker, "west", 1)
        self.relays = [
            Relay("rack:1", self.rack, 1, self.changes["rack"]),
            Relay("rack:2", self.rack, 2, self.changes["rack"]),
            Relay("east:1", self.east, 1, self.changes["east"]),
            Relay("west:1", self.west, 1, self.changes["west"]),
        ]

    def _make(self, broker: Mosquitto, name: str, channels: int) -> TasmotaDouble:
        double = TasmotaDouble(broker.host, broker.port, unique_name(name), channels=channels)
        changes: list[tuple[float, int, bool]] = []
        self.changes[name] = changes
        double.firmware.power = RecordingPower(double.firmware.power, changes)
        double.start()
        return double

    def doubles(self) -> dict[str, TasmotaDouble]:
        return {"rack": self.rack, "east": self.east, "west": self.west}

    def any_on(self) -> list[str]:
        return [r.name for r in self.relays if r.double.power(r.channel)]

    def stop(self) -> None:
        for double in self.doubles().values():
            double.stop()

    def command_log(self, begin: float, end: float) -> list[str]:
        """Every command the doubles received in [begin, end], as `t  device  CMD payload`."""
        lines = []
        for name, double in self.doubles().items():
            for c in list(double.commands):
                at = wall(c.at)
                if begin <= at <= end:
                    lines.append((at, f"{_clock(at)}  {name:<4}  {c.command} {c.payload}"))
        return [text for _at, text in sorted(lines)]

    def change_log(self, begin: float, end: float) -> list[str]:
        lines = []
        for relay in self.relays:
            for at, channel, on in list(relay.changes):
                if channel == relay.channel and begin <= at <= end:
                    lines.append((at, f"{_clock(at)}  {relay.name} -> {'ON' if on else 'OFF'}"))
        return [text for _at, text in sorted(lines)]


def _clock(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%H:%M:%S.%f")[:-3]


# --- the station and its slots --------------------------------------------------------------


@dataclass
class Slot:
    name: str
    start: datetime
    seconds: float

    @property
    def t(self) -> float:
        return self.start.timestamp()

    @property
    def window(self) -> tuple[float, float]:
        """When a loudspeaker relay may be on for this slot (before the grace)."""
        return self.t - PREROLL - SETTLES, self.t + self.seconds + POSTROLL

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": f"{self.start:%H:%M:%S}",
            "duration": f"{self.seconds:g}s",
            "playlist": "p",
        }


def make_slots(rng: random.Random, count: int, gap_s: int, prefix: str) -> list[Slot]:
    """`count` slots of 4-6 s, `gap_s` apart, the first FIRST_LEAD_S from now. Whole seconds:
    a slot's start is written to the config as HH:MM:SS."""
    start = station_time(FIRST_LEAD_S)
    slots = []
    for i in range(count):
        seconds = float(rng.choice((4, 5, 6)))
        slots.append(Slot(f"{prefix}{i:02d}", start, seconds))
        start += timedelta(seconds=seconds + gap_s)
    return slots


def write_config(
    station: StationDir,
    broker: Mosquitto,
    devices: Devices,
    slots: list[Slot],
    aircheck: Path | None = None,
) -> None:
    def tasmota(relay_id: str, double: TasmotaDouble, channels: int = 1) -> dict[str, Any]:
        return {
            "id": relay_id,
            "type": "tasmota",
            "topic": double.topic,
            "channels": channels,
            "confirm_timeout_s": 1.5,
        }

    extra: dict[str, Any] = {}
    if aircheck is not None:
        extra["audio"] = {"output": {"type": "file", "dir": str(aircheck)}, "fade_out_s": 0.5}
    station.write_config(
        {
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "keepalive_s": 5,
                "reconnect_max_s": 1,
            },
            "relays": [
                tasmota("rack", devices.rack, 2),
                tasmota("east", devices.east),
                tasmota("west", devices.west),
            ],
            "amplifiers": [
                {"relay": "rack:1", "settle_s": SETTLE},
                {"relay": "rack:2", "settle_s": SETTLE},
            ],
            "zones": [
                {"id": "east", "name": "东村", "relays": ["east:1"]},
                {"id": "west", "name": "西村", "relays": ["west:1"]},
            ],
            "schedule": {
                "preroll_s": PREROLL,
                "postroll_s": POSTROLL,
                "min_join_s": MIN_JOIN,
                "deadman_margin_s": MARGIN,
                "rearm_s": REARM,
                "slots": [s.config() for s in slots],
            },
            **extra,
        }
    )


# --- one fault case and what the devices say about it ---------------------------------------


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


# --- the daemon log -------------------------------------------------------------------------

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def log_lines(daemon: Daemon, begin: float, end: float, limit: int = 40) -> list[str]:
    """Daemon log lines stamped in [begin, end] (the daemon runs with TZ=UTC)."""
    out = []
    try:
        text = daemon.log_path.read_text(errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        m = _STAMP.match(line)
        if not m:
            continue
        stamp = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        at = stamp.timestamp() + int(m.group(2)) / 1000
        if begin <= at <= end:
            out.append(line[11:300])
    return out[:limit]


def notable_log(daemon: Daemon) -> list[str]:
    words = ("Traceback", "ERROR", "CRITICAL", "safe state", "Exception")
    try:
        text = daemon.log_path.read_text(errors="replace")
    except OSError:
        return []
    return [line[11:240] for line in text.splitlines() if any(w in line for w in words)]


# --- the campaign ---------------------------------------------------------------------------


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


def sleep_until(unix: float) -> None:
    delay = unix - time.time()
    if delay > 0:
        time.sleep(delay)


def kill_moment(rng: random.Random, kind: str, slot: Slot) -> float:
    t, d = slot.t, slot.seconds
    return {
        "before_wake": t - WAKE_LEAD - rng.uniform(0.3, 2.0),
        "power_up": t - PREROLL - SETTLES + rng.uniform(0.05, SETTLES - 0.05),
        "zones_on": t - PREROLL + rng.uniform(-0.02, 0.25),
        "on_air": t + rng.uniform(0.1, d - 0.1),
        "postroll": t + d + rng.uniform(0.05, POSTROLL - 0.05),
    }[kind]


@dataclass
class Phase:
    """One daemon run on its own station folder, devices and slots."""

    name: str
    broker: Mosquitto
    root: Path
    slots: list[Slot]
    aircheck: Path | None = None
    log_dir: Path | None = None

    def __post_init__(self) -> None:
        self.devices = Devices(self.broker)
        self.station = StationDir(self.root)
        self.daemon = Daemon(self.station)
        self.end = 0.0
        self.final_rows: list[dict[str, Any]] = []
        if self.log_dir is not None:
            self.daemon.log_path = self.log_dir / f"{self.name}-daemon.log"
        write_config(self.station, self.broker, self.devices, self.slots, self.aircheck)

    def start(self) -> None:
        self.daemon.start(timeout=25.0)

    def finish(self) -> float:
        """Wait out the last dead-man, stop the daemon; the Unix time measuring ends."""
        last = max(s.window[1] for s in self.slots)
        sleep_until(last + MARGIN + 2.0)
        if not self.broker.running:
            self.broker.start()
        code = self.daemon.stop()
        if code not in (0, -15):
            print(f"    ! {self.name}: daemon exited {code} at the end", file=sys.stderr)
        time.sleep(0.5)
        self.end = time.time()
        self.final_rows = self.station.rows()
        return self.end

    def open_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.final_rows if r["outcome"] is None]

    def died_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.final_rows if any(w in (r["reason"] or "") for w in DIED)]


def run_kills(
    rng: random.Random, broker: Mosquitto, tmp: Path, count: int, gap_s: int, restart_s: float
) -> tuple[Phase, list[Case]]:
    slots = make_slots(rng, count, gap_s, "k")
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    phase = Phase("kill9", broker, tmp / "kill9", slots)
    cases = [Case("kill9", k, s, kill_moment(rng, k, s)) for k, s in zip(kinds, slots, strict=True)]
    phase.start()
    for case in cases:
        delay = restart_s + rng.uniform(0.0, 0.3)  # the unit's RestartSec and a little
        sleep_until(case.planned_at)
        case.at = time.time()
        phase.daemon.kill9()
        time.sleep(delay)
        case.back_at = restart(phase.daemon)
        actual = _phase_of(case.slot, case.at)
        late = f" (meant {case.kind}: the restart before ran late)" if actual != case.kind else ""
        case.kind = actual
        case.note = f"restart +{delay:.2f}s, {healthy(case)}{late}"
        print(f"  kill -9 {case.kind:<11} {case.offset()}  {case.note}", file=sys.stderr)
    return phase, cases


def run_outages(
    rng: random.Random, broker: Mosquitto, tmp: Path, count: int, gap_s: int
) -> tuple[Phase, list[Case]]:
    slots = make_slots(rng, count, gap_s, "o")
    phase = Phase("outage", broker, tmp / "outage", slots)
    cases = []
    for s in slots:
        moment = rng.uniform(s.t - WAKE_LEAD, s.t + s.seconds + POSTROLL + 0.5)
        cases.append(Case("outage", "", s, moment, length_s=rng.uniform(0.5, 5.0)))
    phase.start()
    for case in cases:
        sleep_until(case.planned_at)
        case.at = time.time()
        broker.stop()
        time.sleep(case.length_s)
        broker.start()
        case.back_at = time.time()
        case.kind = f"{case.length_s:.1f}s down"
        print(f"  broker down {case.offset()} for {case.back_at - case.at:.2f} s", file=sys.stderr)
    return phase, cases


def run_sigterms(
    rng: random.Random, broker: Mosquitto, tmp: Path, count: int, gap_s: int
) -> tuple[Phase, list[Case]]:
    slots = make_slots(rng, count, gap_s, "t")
    phase = Phase("sigterm", broker, tmp / "sigterm", slots)
    cases = []
    for s in slots:
        cases.append(Case("sigterm", "", s, rng.uniform(s.window[0], s.t + s.seconds - 0.05)))
    phase.start()
    for case in cases:
        delay = rng.uniform(0.0, 1.0)
        sleep_until(case.planned_at)
        case.at = time.time()
        code = phase.daemon.stop()
        stopped = time.time()
        time.sleep(delay)
        case.back_at = restart(phase.daemon)
        case.kind = _phase_of(case.slot, case.at)
        case.note = f"exit {code} in {stopped - case.at:.2f}s, {healthy(case)}"
        print(f"  SIGTERM {case.kind:<11} {case.offset()}  {case.note}", file=sys.stderr)
    return phase, cases


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


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[str | None]:
    """Mount a tmpfs at `path`; yields None if mounted, else why not."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        yield (done.stderr or done.stdout).strip() or f"mount exited {done.returncode}"
        return
    try:
        yield None
    finally:
        gc.collect()  # peers.daemon's sqlite3 connections are closed only when collected
        for attempt in range(20):
            done = subprocess.run(["umount", str(path)], capture_output=True, text=True)
            if done.returncode == 0:
                break
            if attempt == 19:
                print(
                    f"    ! umount {path}: {done.stderr.strip()}; held by {holders(path)};"
                    " unmounting lazily",
                    file=sys.stderr,
                )
                subprocess.run(["umount", "-l", str(path)], check=False)
            time.sleep(0.5)


def holders(path: Path) -> list[str]:
    """Processes with a file, cwd or mapping under `path` (why an umount is refused)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = [os.readlink(p) for p in (proc / "fd").iterdir()] + [os.readlink(proc / "cwd")]
            maps = (proc / "maps").read_text(errors="replace")
        except OSError:
            continue
        if any(link.startswith(str(path)) for link in links) or str(path) in maps:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name} {cmd[:80]}")
    return found


def fill(path: Path) -> int:
    """Write `path` until the file system is full; the bytes written."""
    written = 0
    chunk = b"\0" * (1 << 20)
    with path.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            piece = chunk[:size]
            while True:
                try:
                    written += out.write(piece) or 0
                except OSError:
                    break
    return written


def run_disk_full(
    rng: random.Random, broker: Mosquitto, tmp: Path, log_dir: Path
) -> tuple[Phase | None, list[Case], str]:
    """The station folder on a 16 MiB tmpfs, filled mid-airing of slot 1; slot 2 airs on the
    full disk; the filler goes after slot 2; slot 3 airs after."""
    root = tmp / "diskfull"
    with tmpfs(root, "16m") as why:
        if why is not None:
            return None, [], f"disk full: skipped (mount tmpfs failed: {why})"
        slots = make_slots(rng, 3, 7, "d")
        aircheck = tmp / "diskfull-aircheck"  # the audio output is not what fails here
        phase = Phase("diskfull", broker, root, slots, aircheck=aircheck, log_dir=log_dir)
        first, second = slots[0], slots[1]
        case1 = Case("disk_full", "filled on air", first, first.t + first.seconds / 2)
        case2 = Case("disk_full", "airing on a full disk", second, second.t - WAKE_LEAD)
        phase.start()
        sleep_until(case1.planned_at)
        case1.at = time.time()
        filler = root / "filler.bin"
        written = fill(filler)
        case1.note = f"{written / 2**20:.1f} MiB filler at T{case1.at - first.t:+.2f}s"
        case2.at = case2.planned_at
        sleep_until(second.window[1] + 1.0)
        filler.unlink()
        case2.back_at = time.time()
        case2.note = f"filler removed T{case2.back_at - second.t:+.2f}s"
        print(f"  disk full: {case1.note}; {case2.note}", file=sys.stderr)
        phase.finish()
        return phase, [case1, case2], ""


# --- figures --------------------------------------------------------------------------------


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
        f"\n[{case.fault}] slot {case.slot.name} T={_clock(case.slot.t)} D={case.slot.seconds:g}"
        f" window {_clock(lo)}..{_clock(hi)} UTC; fault {case.kind} at {case.offset()}"
        f" ({case.note}): {case.worst_relay} on {case.excess_s:.2f} s beyond"
        f" postroll + {GRACE_S:g} s"
    )
    relays = {r.name: r for r in phase.devices.relays}
    for relay, on, off in case.incidents:
        print(
            f"    {relay} ON {_clock(on)} .. OFF {_clock(off)}"
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
