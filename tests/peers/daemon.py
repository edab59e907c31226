"""The real daemon as a separate process, on a station folder the test writes (config, clips)."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from airchecks import frames
from doubles.tasmota import TasmotaDouble

from peers.mosquitto import Mosquitto, free_port

ROOT = Path(__file__).resolve().parents[2]
SH = ZoneInfo("Asia/Shanghai")
RATE = 48000
PREROLL, SETTLE, POSTROLL = 1.5, 0.3, 0.5  # the two-village station's schedule (seconds)


def make_tone(path: Path, seconds: float, freq: int) -> Path:
    """A clip made by ffmpeg's sine source, so every test clip is real, decodable audio (made
    once per test run and copied: every station folder has the same two)."""
    shutil.copyfile(_tone(seconds, freq, path.suffix), path)
    return path


@functools.cache
def _tone(seconds: float, freq: int, suffix: str) -> Path:
    folder = tempfile.mkdtemp(prefix="tone-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / f"tone{suffix}"
    source = f"sine=frequency={freq}:duration={seconds}:sample_rate=44100"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, "-ac", "1",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


def station_time(offset_s: float) -> datetime:
    """A moment `offset_s` from now, in station time, on a whole second."""
    return (datetime.now(SH) + timedelta(seconds=offset_s)).replace(microsecond=0)


class StationDir:
    """A station folder: config.yaml, playlists/, audio/ with two short tones."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "audio").mkdir(parents=True, exist_ok=True)
        (root / "playlists").mkdir(exist_ok=True)
        make_tone(root / "audio" / "a.wav", 0.8, 440)
        make_tone(root / "audio" / "b.mp3", 0.8, 660)
        (root / "playlists" / "p.yaml").write_text(
            "order: sequential\ngap_s: 0.3\nclips: [a.wav, b.mp3]\n", encoding="utf-8"
        )
        self.api_port = free_port()

    def write_config(self, config: dict[str, Any]) -> Path:
        base: dict[str, Any] = {
            "station": {"name": "测试站", "timezone": "Asia/Shanghai"},
            "api": {"listen": f"127.0.0.1:{self.api_port}"},
            "audio": {"output": {"type": "file", "dir": "var/aircheck"}, "fade_out_s": 0.5},
        }
        path = self.root / "config.yaml"
        path.write_text(yaml.safe_dump({**base, **config}, allow_unicode=True), encoding="utf-8")
        return path

    @property
    def db(self) -> Path:
        return self.root / "var" / "broadcastctl.sqlite3"

    def rows(self) -> list[dict[str, Any]]:
        if not self.db.exists():
            return []
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            db.row_factory = sqlite3.Row
            found = db.execute("SELECT * FROM asrun ORDER BY planned_start, zone").fetchall()
        return [{**dict(r), "clips": json.loads(r["clips"])} for r in found]

    def airchecks(self) -> list[tuple[Path, int]]:
        """(path, frames) of every air-check recording."""
        out = []
        for path in sorted((self.root / "var" / "aircheck").glob("*.flac")):
            out.append((path, frames(path)))
        return out


def slot(name: str, start: datetime, seconds: float) -> dict[str, Any]:
    return {"name": name, "start": f"{start:%H:%M:%S}", "duration": f"{seconds}s", "playlist": "p"}


def two_villages(
    relays: list[dict[str, Any]], slots: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """Two villages (east, west) on a board each and two amplifiers on a rack board; `relays`
    are those three (of any type), `extra` adds sections ("schedule" adds its keys)."""
    schedule = {
        "preroll_s": PREROLL, "postroll_s": POSTROLL, "min_join_s": 3, "deadman_margin_s": 3,
        "rearm_s": 1, "slots": slots, **extra.pop("schedule", {}),
    }  # fmt: skip
    return {
        "relays": relays,
        "amplifiers": [{"relay": f"rack:{n}", "settle_s": SETTLE} for n in (1, 2)],
        "zones": [
            {"id": "east", "name": "东村", "relays": ["east:1"]},
            {"id": "west", "name": "西村", "relays": ["west:1"]},
        ],
        "schedule": schedule,
        **extra,
    }


class Daemon:
    """`broadcastctl run` in a child process; its log is kept for failure messages."""

    def __init__(self, station: StationDir) -> None:
        self.station = station
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = station.root / "daemon.log"

    def start(self, timeout: float = 20.0, env_extra: dict[str, str] | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TZ": "UTC", **(env_extra or {})}
        config = str(self.station.root / "config.yaml")
        argv = ["-m", "controller.cli.main", "run", "--config", config]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *argv],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill9 takes every process
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited ({self.proc.returncode}):\n{self.log()}")
            try:
                self.get("/healthz")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise TimeoutError(f"daemon not healthy after {timeout} s:\n{self.log()}")

    def healthy(self) -> bool:
        """/healthz says the station has started (False while it says 503 or is not there)."""
        try:
            return bool(self.get("/healthz")["ok"])
        except OSError:
            return False

    def get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.station.api_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())

    def send(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """A JSON request with a bearer token; returns (status, decoded body)."""
        url = f"http://127.0.0.1:{self.station.api_port}{path}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def kill9(self) -> None:
        """kill -9 of every process of the daemon at once (as a power cut would)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def child_pid(self, name: str) -> int:
        """The pid of the daemon's `engine` or `api` process (the supervisor writes it)."""
        return int((self.station.root / "var" / "run" / f"{name}.pid").read_text())

    def signal_child(self, name: str, signum: int) -> int:
        pid = self.child_pid(name)
        os.kill(pid, signum)
        return pid

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


def wall(mono: float) -> float:
    """A time.monotonic() reading of this process as Unix time."""
    return time.time() - (time.monotonic() - mono)


def wait_until(moment: datetime, extra_s: float = 0.0) -> None:
    delay = (moment - datetime.now(SH)).total_seconds() + extra_s
    if delay > 0:
        time.sleep(delay)


class Rig:
    """The two-village station on Tasmota doubles on `broker`, and its daemon (not started)."""

    def __init__(self, tmp: Path, broker: Mosquitto, make: Callable[..., TasmotaDouble]) -> None:
        self.broker = broker
        self.station = StationDir(tmp)
        self.rack = make(broker, channels=2)
        self.east = make(broker)
        self.west = make(broker)
        self.daemon = Daemon(self.station)

    def config(self, slots: list[dict[str, Any]], **extra: Any) -> None:
        boards = [("rack", self.rack, 2), ("east", self.east, 1), ("west", self.west, 1)]
        relays = [
            {"id": name, "type": "tasmota", "topic": double.topic, "channels": channels,
             "confirm_timeout_s": 1.5}
            for name, double, channels in boards
        ]  # fmt: skip
        mqtt = {"host": self.broker.host, "port": self.broker.port, "keepalive_s": 5,
                "reconnect_max_s": 1}  # fmt: skip
        self.station.write_config(two_villages(relays, slots, mqtt=mqtt, **extra))

    def closed_rows(self) -> list[dict[str, Any]]:
        """The record's rows once there are some and every one is closed (empty until then)."""
        rows = self.station.rows()
        return rows if rows and all(r["outcome"] for r in rows) else []


def powers(double: TasmotaDouble, payload: str) -> list[float]:
    """Unix times at which the double received POWER<n> <payload> (any channel)."""
    return [
        wall(c.at)
        for c in double.commands
        if c.command.upper() in ("POWER", "POWER1", "POWER2") and c.payload.upper() == payload
    ]


def channel_cmds(double: TasmotaDouble, channel: int, payload: str) -> list[float]:
    return [wall(c.at) for c in double.received(f"POWER{channel}", payload)]


def near(actual: float, expected: datetime, tol: float = 0.5) -> bool:
    """Within `tol` of `expected` (0.5 s: daemon → broker → double on a loaded machine)."""
    return abs(actual - expected.timestamp()) <= tol
