"""Tables for the pure Shelly Gen2+ codec: request frames, replies, notifications, availability."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drivers.protocols.shelly import (
    Availability,
    RpcFailure,
    RpcResult,
    ShellyCodec,
    ShellyEvent,
    SwitchReport,
    SwitchStatus,
    check_toggle_after,
    config_faults,
    config_fixes,
    switch_status,
    unixtime,
    was_on,
)

PREFIX = "shellypro4pm-a8032ab12345"
SRC = "broadcastctl-42-east"


def codec(first_id: int = 7) -> ShellyCodec:
    return ShellyCodec(PREFIX, SRC, first_id=first_id)


def test_switch_set_frame_is_exact() -> None:
    request = codec().switch_set(1, True, 30.0)
    assert (request.id, request.method, request.topic) == (7, "Switch.Set", f"{PREFIX}/rpc")
    assert json.loads(request.payload) == {
        "jsonrpc": "2.0",
        "id": 7,
        "src": SRC,
        "method": "Switch.Set",
        "params": {"id": 0, "on": True, "toggle_after": 30},
    }
    assert request.payload == (
        '{"jsonrpc":"2.0","id":7,"src":"broadcastctl-42-east","method":"Switch.Set",'
        '"params":{"id":0,"on":true,"toggle_after":30}}'
    )


@pytest.mark.parametrize(
    ("channel", "on", "toggle_after", "params"),
    [
        (1, False, None, {"id": 0, "on": False}),
        (1, True, None, {"id": 0, "on": True}),
        (4, True, 1.5, {"id": 3, "on": True, "toggle_after": 1.5}),
        (2, True, 3600, {"id": 1, "on": True, "toggle_after": 3600}),
    ],
)
def test_switch_set_params(
    channel: int, on: bool, toggle_after: float | None, params: dict[str, Any]
) -> None:
    assert json.loads(codec().switch_set(channel, on, toggle_after).payload)["params"] == params


def test_get_status_frame_and_ids_are_unique() -> None:
    c = codec(first_id=100)
    requests = [c.switch_set(1, True), c.switch_get_status(2), c.switch_set(1, False)]
    assert [r.id for r in requests] == [100, 101, 102]
    assert json.loads(requests[1].payload) == {
        "jsonrpc": "2.0",
        "id": 101,
        "src": SRC,
        "method": "Switch.GetStatus",
        "params": {"id": 1},
    }


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf")])
def test_toggle_after_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="toggle_after must be a positive number"):
        codec().switch_set(1, True, seconds)
    with pytest.raises(ValueError):
        check_toggle_after(seconds)


def test_no_flip_back_timer_on_off() -> None:
    # Switch.Set on=false with toggle_after would switch the output ON again later.
    with pytest.raises(ValueError, match="only sent with on=true"):
        codec().switch_set(1, False, 10)


def test_channel_zero_does_not_exist() -> None:
    with pytest.raises(ValueError, match="switch:0 is channel 1"):
        codec().switch_set(0, True)


@pytest.mark.parametrize("prefix", ["", "a+b", "dev/#", "$sys", "50%", "why?", "x" * 301])
def test_topic_prefix_is_checked(prefix: str) -> None:
    with pytest.raises(ValueError, match="topic_prefix"):
        ShellyCodec(prefix, SRC)


@pytest.mark.parametrize("src", ["", "a/+", "a#"])
def test_src_must_be_a_topic(src: str) -> None:
    with pytest.raises(ValueError, match="src"):
        ShellyCodec(PREFIX, src)


def test_topics_and_subscriptions() -> None:
    c = codec()
    assert c.subscriptions(2) == [
        f"{SRC}/rpc",
        f"{PREFIX}/online",
        f"{PREFIX}/events/rpc",
        f"{PREFIX}/status/switch:0",
        f"{PREFIX}/status/switch:1",
    ]


REPLY = f"{SRC}/rpc"
EVENTS = f"{PREFIX}/events/rpc"
ONLINE = f"{PREFIX}/online"

PARSE: list[tuple[str, Any, list[ShellyEvent]]] = [
    # Replies on <src>/rpc (RPCProtocol: response frame = id, src, dst, result | error).
    (
        REPLY,
        {"id": 7, "src": PREFIX, "dst": SRC, "result": {"was_on": False}},
        [RpcResult(7, {"was_on": False})],
    ),
    (
        REPLY,
        {"id": 8, "src": PREFIX, "dst": SRC, "error": {"code": -105, "message": "not found!"}},
        [RpcFailure(8, -105, "not found!")],
    ),
    (REPLY, {"id": 9, "error": {"code": 404}}, [RpcFailure(9, 404, "")]),
    (REPLY, {"id": "abc", "result": {}}, []),  # not one of our (integer) ids
    (REPLY, {"id": True, "result": {}}, []),
    (REPLY, {"id": 7, "result": None}, []),
    (REPLY, {"id": 7, "method": "Switch.Set", "params": {}}, []),  # a request, not a reply
    (REPLY, [1, 2], []),
    # Notifications on <prefix>/events/rpc.
    (
        EVENTS,
        {
            "src": PREFIX,
            "dst": f"{PREFIX}/events",
            "method": "NotifyStatus",
            "params": {"ts": 1.5, "switch:0": {"id": 0, "output": True, "source": "MQTT"}},
        },
        [SwitchReport(SwitchStatus(1, True, source="MQTT"))],
    ),
    (
        EVENTS,
        {
            "method": "NotifyStatus",
            "params": {
                "switch:1": {
                    "id": 1,
                    "output": True,
                    "timer_started_at": 1700000000.25,
                    "timer_duration": 60,
                },
                "switch:2": {"id": 2, "apower": 12.5},  # power only: no output, no event
                "input:0": {"id": 0, "state": True},
                "sys": {"uptime": 5},
            },
        },
        [SwitchReport(SwitchStatus(2, True, 1700000000.25, 60.0))],
    ),
    (EVENTS, {"method": "NotifyEvent", "params": {"switch:0": {"output": True}}}, []),
    (EVENTS, {"method": "NotifyStatus", "params": "x"}, []),
    # Status topic (status_ntf) and availability.
    (
        f"{PREFIX}/status/switch:3",
        {"id": 3, "output": False},
        [SwitchReport(SwitchStatus(4, False))],
    ),
    (f"{PREFIX}/status/switch:x", {"output": False}, []),
    (f"{PREFIX}/status/input:0", {"id": 0, "state": True}, []),
    (ONLINE, "true", [Availability(True)]),
    (ONLINE, "false", [Availability(False)]),
    (ONLINE, "maybe", []),
    ("other-device/online", "true", []),
    (f"{PREFIX}/rpc", {"id": 7, "result": {}}, []),  # requests (ours or others'), not replies
]


@pytest.mark.parametrize(("topic", "body", "events"), PARSE)
def test_parse(topic: str, body: Any, events: list[ShellyEvent]) -> None:
    payload = body if isinstance(body, str) else json.dumps(body)
    assert codec().parse(topic, payload.encode()) == events


@pytest.mark.parametrize("payload", [b"", b"{", b"\xff\xfe", b"null"])
def test_parse_ignores_garbage(payload: bytes) -> None:
    c = codec()
    for topic in (REPLY, EVENTS, ONLINE, f"{PREFIX}/status/switch:0"):
        assert c.parse(topic, payload) == []


def test_get_status_result_and_was_on() -> None:
    result = {
        "id": 0,
        "source": "MQTT",
        "output": True,
        "timer_started_at": 1700000000.5,
        "timer_duration": 30,
        "apower": 8.9,
    }
    assert switch_status(1, result) == SwitchStatus(1, True, 1700000000.5, 30.0, "MQTT")
    assert switch_status(1, {"id": 0, "output": "on"}) is None
    assert switch_status(1, None) is None
    assert was_on({"was_on": True}) is True
    assert was_on({"was_on": 1}) is None
    assert was_on({}) is None


# Switch.GetConfig as documented (Switch component, config section) for a Plus 1 as shipped.
DOC_CONFIG: dict[str, Any] = {
    "id": 0,
    "name": None,
    "in_mode": "follow",
    "initial_state": "match_input",
    "auto_on": False,
    "auto_on_delay": 60.00,
    "auto_off": False,
    "auto_off_delay": 60.00,
}


def test_config_requests_and_the_device_clock() -> None:
    c = codec()
    assert json.loads(c.switch_get_config(1).payload) == {
        "jsonrpc": "2.0", "id": 7, "src": SRC, "method": "Switch.GetConfig",
        "params": {"id": 0},
    }  # fmt: skip
    request = c.switch_set_config(2, {"initial_state": "off"})
    assert json.loads(request.payload)["params"] == {"id": 1, "config": {"initial_state": "off"}}
    assert json.loads(c.sys_get_status().payload)["method"] == "Sys.GetStatus"
    assert unixtime({"unixtime": 1654694407, "uptime": 80}) == 1654694407.0
    assert unixtime({"unixtime": None, "uptime": 80}) is None  # not synced yet


@pytest.mark.parametrize(
    ("change", "fixes", "faults"),
    [
        (
            {},
            {"initial_state": "off"},
            ["switch 1 initial_state match_input (not OFF after power-up)"],
        ),
        ({"initial_state": "off"}, {}, []),
        ({"initial_state": "restore_last"}, {"initial_state": "off"}, None),
        (
            {"initial_state": "off", "auto_on": True},
            {"auto_on": False},
            ["switch 1 auto_on (back ON 60.0 s after every OFF)"],
        ),
        ({"initial_state": "off", "auto_off": True}, {}, []),  # a config dead-man: welcome
    ],
)
def test_switch_config_that_defeats_the_safe_state(
    change: dict[str, Any], fixes: dict[str, Any], faults: list[str] | None
) -> None:
    config = DOC_CONFIG | change
    assert config_fixes(config) == fixes
    if faults is not None:
        assert [en for _zh, en in config_faults(1, config)] == faults
