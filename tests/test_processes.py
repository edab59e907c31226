"""The process model of `broadcastctl run` (issue 9): a supervisor, the air engine and the HTTP
API in processes of their own. What happens to the API never reaches the air; an engine that
dies is started again and joins its airing; nothing outlives the supervisor.

Real daemon, real Mosquitto, Tasmota doubles, ffmpeg and SQLite, as in test_daemon_e2e.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from doubles.tasmota import TasmotaDouble
from peers.daemon import POSTROLL, RATE, Rig, near, powers, slot, station_time, wait_until
from peers.mosquitto import Mosquitto
from waiting import wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def rig(
    tmp_path: Path, mosquitto: Mosquitto, make_tasmota: Callable[..., TasmotaDouble]
) -> Iterator[Rig]:
    r = Rig(tmp_path, mosquitto, make_tasmota)
    yield r
    r.daemon.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def healthy(rig: Rig) -> bool:
    try:
        return bool(rig.daemon.get("/healthz")["ok"])
    except OSError:
        return False


def test_an_api_frozen_then_killed_mid_airing_leaves_the_air_untouched(rig: Rig) -> None:
    t = station_time(8)
    rig.config([slot("午间", t, 5)])
    rig.daemon.start()
    wait_until(t, 0.5)
    api = rig.daemon.signal_child("api", signal.SIGSTOP)  # as slow as an API can be
    wait_until(t, 2.5)
    os.kill(api, signal.SIGKILL)
    wait_until(t, 5 + POSTROLL + 1.0)
    rows = rig.station.rows()
    assert [(r["zone"], r["outcome"]) for r in rows] == [("east", "aired"), ("west", "aired")]
    assert [f for _p, f in rig.station.airchecks()] == [5 * RATE]  # not a frame lost
    for zone in (rig.east, rig.west):
        assert near(powers(zone, "ON")[0], t - timedelta(seconds=1.5), 0.6)  # then re-arms
        assert near(powers(zone, "OFF")[-1], t + timedelta(seconds=5), 0.6)
        assert not zone.power()
    # the supervisor started a new API, which asks the same engine
    assert wait_for(lambda: rig.daemon.child_pid("api") != api and healthy(rig), 20), "a new API"
    status = rig.daemon.get("/api/status")
    assert status["on_air"] == [] and {d["id"] for d in status["devices"]} == {
        "rack", "east", "west"
    }  # fmt: skip


def test_an_engine_killed_mid_slot_is_started_again_and_joins_its_airing(rig: Rig) -> None:
    t = station_time(8)
    rig.config([slot("晚间", t, 10)])
    rig.daemon.start()
    wait_until(t, 2.0)
    engine = rig.daemon.signal_child("engine", signal.SIGKILL)
    assert wait_for(lambda: not alive(engine), 5), "the engine gone"
    assert wait_for(lambda: rig.daemon.child_pid("engine") != engine, 10), "a new engine"
    wait_until(t, 10 + POSTROLL + 2.0)
    rows = rig.station.rows()
    assert [(r["zone"], r["outcome"]) for r in rows] == [("east", "joined"), ("west", "joined")]
    joined_at = datetime.fromisoformat(rows[0]["joined_at"])
    assert joined_at < t + timedelta(seconds=8)  # back well before the slot ended
    for zone in (rig.east, rig.west):
        assert near(powers(zone, "OFF")[-1], t + timedelta(seconds=10), 0.6)
        assert not zone.power()
    assert healthy(rig)


def test_the_api_answers_503_while_the_engine_is_away(rig: Rig) -> None:
    rig.config([slot("早间", station_time(3600), 5)])
    rig.daemon.start()
    engine = rig.daemon.signal_child("engine", signal.SIGSTOP)
    try:
        status, body = rig.daemon.send("GET", "/api/status")
        assert status == 503 and "播出引擎" in body["detail"]
        assert wait_for(lambda: not healthy(rig), 5), "healthz says the engine is away"
    finally:
        os.kill(engine, signal.SIGCONT)
    assert wait_for(lambda: healthy(rig), 5), "healthz back"


def test_nothing_outlives_a_killed_supervisor_and_the_relays_go_off(rig: Rig) -> None:
    t = station_time(7)
    rig.config([slot("午间", t, 20)])
    rig.daemon.start()
    wait_until(t, 1.0)
    engine, api = rig.daemon.child_pid("engine"), rig.daemon.child_pid("api")
    assert rig.daemon.proc is not None
    rig.daemon.proc.send_signal(signal.SIGKILL)  # the supervisor alone
    rig.daemon.proc.wait(10)
    assert wait_for(lambda: not alive(engine) and not alive(api), 15), "children gone"
    rows = rig.station.rows()
    assert [r["outcome"] for r in rows] == ["stopped", "stopped"]  # an orderly stop
    for zone in (rig.east, rig.west):
        assert not zone.power()


def test_systemd_hears_ready_and_the_watchdog(rig: Rig, tmp_path: Path) -> None:
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(address))
        sock.settimeout(10)
        rig.config([slot("早间", station_time(3600), 5)])
        rig.daemon.start(env_extra={"NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "1000000"})
        heard: list[str] = []
        while "WATCHDOG=1" not in heard:
            heard.append(sock.recv(256).decode())
        assert heard[0] == "READY=1"  # first, and only once the engine answered
        assert healthy(rig)
        assert rig.daemon.stop() == 0
        sock.settimeout(2)
        while heard[-1] != "STOPPING=1":
            heard.append(sock.recv(256).decode())
