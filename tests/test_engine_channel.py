"""The engine channel (issue 9): the API process reaches the engine only through a private Unix
socket; every command crosses it with its arguments, and an engine that refuses, cannot answer
in JSON, is stuck, restarted or not running is answered for, never hung on.

The server runs on an event loop in a thread, as in the engine process; the engine behind it
is a recording stand-in (tests/rig_engine_channel.py). Who may use the socket and which frames
it refuses: test_engine_channel_guard.py.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from pathlib import Path

import ids
import pytest
from rig_engine_channel import T0, Running, StandIn, client, engine, folder, server

from controller.engine import wire
from controller.engine.client import EngineClient
from controller.engine.port import AiringStates, EngineUnavailable, ScreenText, ShownMessage

__all__ = ["client", "engine", "folder", "server"]  # the fixtures, so pytest finds them here


def test_every_command_crosses_the_channel_with_its_arguments(
    client: EngineClient, engine: StandIn
) -> None:
    assert client.ping()["started"] is True
    assert client.lead_s(["east", "west"]) == 2.5
    assert client.stop_air("停播 / stopped: 演练（op）") == ["slot|1"]
    assert (
        client.stop_airing(ids.override("a"), "r") is True
        and client.stop_airing(ids.override("z"), "r") is False
    )
    client.kick()
    assert client.withdraw("k1") == 1
    pushed = ScreenText("注意防骗", None, 5.0, "police", "yellow", 90, "k1", T0)
    shown = client.push_message(pushed)
    assert shown == ShownMessage(7, "注意防骗", ("square",), T0 + timedelta(minutes=5), "police")
    assert client.airing_states() == AiringStates(
        frozenset({ids.override("a")}), frozenset({ids.override("b")})
    )
    assert client.status() == {"on_air": [], "at": T0.isoformat()}
    assert client.metrics_text() == b"# HELP x y\n"
    assert [c for c in engine.calls if c[0] != "status"] == [
        ("lead_s", ["east", "west"]),
        ("stop_air", "停播 / stopped: 演练（op）"),
        ("stop_airing", (ids.override("a"), "r")),
        ("stop_airing", (ids.override("z"), "r")),
        ("kick", None),
        ("withdraw", "k1"),
        ("push_message", pushed),
    ]
    # commands run on the engine's loop; the status (database reads) never does
    assert engine.threads["stop_air"] == "engine-loop"
    assert engine.threads["status"].startswith("engine-read")


def test_the_operator_hears_why_a_screen_refused_a_text(client: EngineClient) -> None:
    with pytest.raises(ValueError, match="无法显示字符"):
        client.push_message(ScreenText("a\x00b", ["square"], 1.0, "op"))


def test_a_status_json_cannot_carry_is_answered_as_an_error(
    client: EngineClient, engine: StandIn
) -> None:
    engine.status_value = {"level": math.nan}
    with pytest.raises(EngineUnavailable, match="internal"):
        client.status()
    assert client.ping()["started"] is True


def test_a_stuck_engine_costs_the_caller_its_timeout_not_more(
    folder: Path, server: Running, engine: StandIn
) -> None:
    engine.status_delay_s = 3.0
    quick = EngineClient(wire.socket_path(folder), wire.token_path(folder), timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as raised:
        quick.status()
    assert time.monotonic() - started < 2.5  # sanity bound: the timeout, not the 3 s
    assert "播出引擎暂时无法响应" in str(raised.value)


def test_a_restarted_engine_with_a_new_token_is_found_again(folder: Path, engine: StandIn) -> None:
    first = Running(engine, folder)
    client = EngineClient(wire.socket_path(folder), wire.token_path(folder), timeout_s=2.0)
    assert client.ping()["started"]
    old = wire.read_token(wire.token_path(folder))
    first.close()
    with pytest.raises(EngineUnavailable):
        client.ping()
    second = Running(engine, folder)
    try:
        assert wire.read_token(wire.token_path(folder)) != old
        assert client.ping()["started"]  # re-read the token once, then answered
    finally:
        second.close()


def test_no_engine_running_is_said_plainly(tmp_path: Path) -> None:
    client = EngineClient(wire.socket_path(tmp_path), wire.token_path(tmp_path), timeout_s=0.5)
    with pytest.raises(EngineUnavailable, match="no engine running"):
        client.status()
    client.start()  # the pinger copes too
    try:
        assert client.ready() is False
    finally:
        client.close()
