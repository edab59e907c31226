"""Tables for the pure Tasmota codec: FullTopic topics, PulseTime units, device reports → events."""

from __future__ import annotations

import pytest

from drivers.protocols.tasmota import (
    Availability,
    CommandRejected,
    PowerState,
    PulseTimeReport,
    SettingReport,
    TasmotaCodec,
    TasmotaEvent,
    TasmotaTopics,
    decode_pulsetime,
    encode_pulsetime,
)

# PulseTime: 1..111 tenths of a second, 112..64900 seconds + 100 (Tasmota docs, Commands.md).
ENCODE = [
    (0, 0),  # disables
    (0.04, 1),  # a dead-man is never rounded down to "disabled"
    (0.1, 1),
    (1.5, 15),
    (10, 100),
    (11.1, 111),
    (11.18, 111),  # never 112, which would mean 12 s
    (12, 112),
    (13, 113),  # docs: PulseTime 113 = 13 s
    (360, 460),  # docs: PulseTime 460 = 360 s
    (3600, 3700),
    (64800, 64900),
]


@pytest.mark.parametrize(("seconds", "value"), ENCODE)
def test_encode_pulsetime(seconds: float, value: int) -> None:
    assert encode_pulsetime(seconds) == value


@pytest.mark.parametrize("seconds", [-0.1, 64800.5, 70000])
def test_encode_pulsetime_rejects_out_of_range(seconds: float) -> None:
    with pytest.raises(ValueError, match="PulseTime"):
        encode_pulsetime(seconds)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (1, 0.1),
        (15, 1.5),
        (111, 11.1),
        (112, 12.0),
        (113, 13.0),
        (460, 360.0),
        (64900, 64800.0),
    ],
)
def test_decode_pulsetime(value: int, seconds: float) -> None:
    assert decode_pulsetime(value) == pytest.approx(seconds)


def test_decode_pulsetime_covers_every_16_bit_setting() -> None:
    # The firmware stores 0..65535 and times anything above 111 as (value - 100) s, past the
    # documented 64900 too (SetPulseTimer in support_tasmota.ino; the docs list 112..64900).
    for value in range(65536):
        expected = 0.0 if value == 0 else value / 10 if value <= 111 else float(value - 100)
        assert decode_pulsetime(value) == pytest.approx(expected), value
    assert decode_pulsetime(64901) == 64801.0
    assert decode_pulsetime(65535) == 65435.0


@pytest.mark.parametrize("value", [-1, 65536, 100_000])
def test_decode_pulsetime_rejects_what_no_firmware_holds(value: int) -> None:
    with pytest.raises(ValueError, match="16-bit"):
        decode_pulsetime(value)


def test_pulsetime_round_trip_is_within_half_a_unit() -> None:
    for tenths in range(1, 200_000, 7):
        seconds = tenths / 10
        if seconds > 64800:
            break
        error = abs(decode_pulsetime(encode_pulsetime(seconds)) - seconds)
        assert error <= (0.05 if seconds < 11.1 else 0.5) + 1e-9, seconds


@pytest.mark.parametrize(
    ("full_topic", "cmnd", "stat", "tele"),
    [
        ("%prefix%/%topic%/", "cmnd/east/POWER1", "stat/east/RESULT", "tele/east/LWT"),
        (
            "tasmota/%topic%/%prefix%/",
            "tasmota/east/cmnd/POWER1",
            "tasmota/east/stat/RESULT",
            "tasmota/east/tele/LWT",
        ),
        ("%topic%/%prefix%", "east/cmnd/POWER1", "east/stat/RESULT", "east/tele/LWT"),
        (
            "town/%prefix%/v/%topic%/",
            "town/cmnd/v/east/POWER1",
            "town/stat/v/east/RESULT",
            "town/tele/v/east/LWT",
        ),
    ],
)
def test_topics_follow_the_fulltopic_template(
    full_topic: str, cmnd: str, stat: str, tele: str
) -> None:
    topics = TasmotaTopics("east", full_topic)
    assert topics.command("POWER1") == cmnd
    assert topics.stat("RESULT") == stat
    assert topics.tele("LWT") == tele
    assert topics.split(stat) == ("stat", "RESULT")
    assert topics.split(tele) == ("tele", "LWT")


def test_topics_with_hostname_and_id_tokens() -> None:
    topics = TasmotaTopics("t", "%prefix%/%hostname%/%id%/", hostname="amp-1", mac_id="A1B2C3")
    assert topics.command("POWER") == "cmnd/amp-1/A1B2C3/POWER"


@pytest.mark.parametrize(
    ("topic", "full_topic", "message"),
    [
        ("east", "%topic%/", "%prefix%"),
        ("a/b", "%prefix%/%topic%/", "one non-empty topic level"),
        ("", "%prefix%/%topic%/", "one non-empty topic level"),
        ("east", "%prefix%/+/%topic%/", "wildcards"),
        ("east", "%prefix%/%hostname%/", "%hostname%"),
    ],
)
def test_topics_reject_bad_templates(topic: str, full_topic: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TasmotaTopics(topic, full_topic)


@pytest.mark.parametrize(
    "topic", ["stat/eastern/RESULT", "stat/east/RESULT/x", "stat/east/", "cmd/east/POWER", "east"]
)
def test_split_ignores_other_devices_and_levels(topic: str) -> None:
    assert TasmotaTopics("east").split(topic) is None


CODEC = TasmotaCodec(TasmotaTopics("east"), lwt_online="Online", lwt_offline="Offline")

PARSE: list[tuple[str, str, list[TasmotaEvent]]] = [
    ("stat/east/RESULT", '{"POWER1":"ON"}', [PowerState(1, True)]),
    ("stat/east/RESULT", '{"POWER":"OFF"}', [PowerState(1, False)]),  # single-relay device
    ("stat/east/RESULT", '{"POWER2":"OFF"}', [PowerState(2, False)]),
    (
        "stat/east/RESULT",
        '{"POWER1":"ON","POWER2":"OFF"}',
        [PowerState(1, True), PowerState(2, False)],
    ),
    (
        "stat/east/RESULT",
        '{"PulseTime1":{"Set":113,"Remaining":113}}',
        [PulseTimeReport(1, 113, 113)],
    ),
    ("stat/east/RESULT", '{"PulseTime2":460}', [PulseTimeReport(2, 460, None)]),
    (
        "stat/east/RESULT",
        '{"PulseTime1":{"Set":65535,"Remaining":0}}',
        [PulseTimeReport(1, 65535, 0)],
    ),
    ("stat/east/RESULT", '{"PulseTime1":{"Set":65536,"Remaining":0}}', []),  # not 16 bits
    ("stat/east/RESULT", '{"PulseTime1":{"Set":"113"}}', []),
    ("stat/east/RESULT", '{"Command":"Unknown"}', [CommandRejected("Unknown")]),
    ("stat/east/RESULT", '{"Command":"Error"}', [CommandRejected("Error")]),
    # the documented setting replies (ResponseCmndNumber / ResponseCmndIdxChar)
    ("stat/east/RESULT", '{"PowerOnState":3}', [SettingReport("POWERONSTATE", 3)]),
    ("stat/east/RESULT", '{"PowerOnState":5}', [SettingReport("POWERONSTATE", 5)]),
    ("stat/east/RESULT", '{"SetOption4":"OFF"}', [SettingReport("SETOPTION4", 0)]),
    ("stat/east/RESULT", '{"SetOption26":"ON"}', [SettingReport("SETOPTION26", 1)]),
    (
        "stat/east/RESULT",
        '{"Interlock":"OFF","Groups":"1,2,3,4"}',
        [SettingReport("INTERLOCK", 0)],
    ),
    ("stat/east/RESULT", '{"Interlock":"ON"}', [SettingReport("INTERLOCK", 1)]),
    ("stat/east/RESULT", '{"SetOption4":"MAYBE"}', []),
    # SetOption4 1: replies on stat/<t>/<COMMAND>, as JSON, instead of RESULT
    (
        "stat/east/PULSETIME1",
        '{"PulseTime1":{"Set":460,"Remaining":0}}',
        [PulseTimeReport(1, 460, 0)],
    ),
    ("stat/east/POWERONSTATE", '{"PowerOnState":0}', [SettingReport("POWERONSTATE", 0)]),
    ("stat/east/POWER1", '{"POWER1":"ON"}', [PowerState(1, True)]),
    ("stat/east/RESULT", "not json", []),
    ("stat/east/RESULT", '["POWER1"]', []),
    ("stat/east/RESULT", '{"POWER1":"BLINK"}', []),
    ("stat/east/POWER", "ON", [PowerState(1, True)]),
    ("stat/east/POWER1", "OFF", [PowerState(1, False)]),
    ("stat/east/POWER3", "on", [PowerState(3, True)]),
    ("stat/east/POWER1", "TOGGLE", []),
    ("stat/east/POWER0", "ON", []),
    ("tele/east/LWT", "Online", [Availability(True)]),
    ("tele/east/LWT", "Offline", [Availability(False)]),
    ("tele/east/LWT", "maybe", []),
    (
        "tele/east/STATE",
        '{"Time":"2026-05-01T07:00:00","Uptime":"0T01:00:00","POWER1":"ON",'
        '"POWER2":"OFF","Wifi":{"RSSI":60}}',
        [PowerState(1, True, False), PowerState(2, False, False)],
    ),
    ("tele/east/STATE", '{"POWER":"ON"}', [PowerState(1, True, reply=False)]),
    ("tele/east/SENSOR", '{"POWER1":"ON"}', []),
    ("cmnd/east/POWER1", "ON", []),  # our own command, echoed by a wildcard: not a report
    ("stat/west/RESULT", '{"POWER1":"ON"}', []),
]


@pytest.mark.parametrize(("topic", "payload", "events"), PARSE)
def test_parse_device_reports(topic: str, payload: str, events: list[TasmotaEvent]) -> None:
    assert CODEC.parse(topic, payload.encode()) == events


def test_parse_with_reordered_template_and_own_lwt_payloads() -> None:
    codec = TasmotaCodec(TasmotaTopics("east", "tasmota/%topic%/%prefix%/"), "up", "down")
    assert codec.parse("tasmota/east/stat/RESULT", b'{"POWER1":"ON"}') == [PowerState(1, True)]
    assert codec.parse("tasmota/east/tele/LWT", b"down") == [Availability(False)]
    assert codec.parse("tasmota/east/tele/LWT", b"Offline") == []
    assert codec.parse("stat/east/RESULT", b'{"POWER1":"ON"}') == []


def test_commands_and_subscriptions() -> None:
    assert CODEC.power(1, True) == ("cmnd/east/POWER1", "ON")
    assert CODEC.power(2, False) == ("cmnd/east/POWER2", "OFF")
    assert CODEC.pulsetime(1, 13) == ("cmnd/east/PulseTime1", "113")
    assert CODEC.pulsetime(2, 1.5) == ("cmnd/east/PulseTime2", "15")
    assert CODEC.command("PowerOnState") == ("cmnd/east/PowerOnState", "")
    assert CODEC.command("PowerOnState", "0") == ("cmnd/east/PowerOnState", "0")
    # one stat/ wildcard level: RESULT, POWER<n> and (SetOption4 1) stat/<t>/<COMMAND>
    assert CODEC.subscriptions(2) == [
        "stat/east/+", "tele/east/LWT", "tele/east/STATE", "tele/east/SENSOR"
    ]  # fmt: skip
