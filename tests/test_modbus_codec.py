"""Modbus RTU codec tables: golden frames, board profiles, replies split and buried in noise."""

from __future__ import annotations

import random

import pytest

from drivers.protocols.modbus import (
    CoilValues,
    ExceptionReply,
    RegisterValues,
    ReplyParser,
    Request,
    WriteReply,
    crc16,
    line_time_s,
    read_coils,
    read_registers,
    silent_interval_s,
    with_crc,
    write_coil,
    write_coils,
    write_register,
)
from drivers.protocols.modbus_boards import PROFILES, R421A08, STANDARD, WAVESHARE


def hexes(text: str) -> bytes:
    return bytes.fromhex(text)


# Research report §B.1/B.2 (cross-checked there with published examples).
GOLDEN = [
    ("coil 0 ON", write_coil(1, 0, 0xFF00), "01 05 00 00 FF 00 8C 3A"),
    ("coil 0 OFF", write_coil(1, 0, 0x0000), "01 05 00 00 00 00 CD CA"),
    ("read 8 coils", read_coils(1, 0, 8), "01 01 00 00 00 08 3D CC"),
    ("coils 0-7 ON", write_coils(1, 0, [True] * 8), "01 0F 00 00 00 08 01 FF BE D5"),
    ("coils 0-7 OFF", write_coils(1, 0, [False] * 8), "01 0F 00 00 00 08 01 00 FE 95"),
    ("waveshare flash-on relay 0, 0.7 s", write_coil(1, 0x0200, 7), "01 05 02 00 00 07 8D B0"),
    ("waveshare flash-off relay 1", write_coil(1, 0x0401, 7), "01 05 04 01 00 07 DC F8"),
    ("waveshare toggle relay 0", write_coil(1, 0, 0x5500), "01 05 00 00 55 00 F2 9A"),
    ("waveshare all ON", write_coil(1, 0x00FF, 0xFF00), "01 05 00 FF FF 00 BC 0A"),
    ("r421a08 relay 1 ON", write_register(1, 1, 0x0100), "01 06 00 01 01 00 D9 9A"),
    ("r421a08 relay 1 OFF", write_register(1, 1, 0x0200), "01 06 00 01 02 00 D9 6A"),
    ("r421a08 relay 1 ON for 10 s", write_register(1, 1, 0x060A), "01 06 00 01 06 0A 5B AD"),
    ("r421a08 read relay 1", read_registers(1, 1, 1), "01 03 00 01 00 01 D5 CA"),
]


@pytest.mark.parametrize(("meaning", "request_", "frame"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_request_frames(meaning: str, request_: Request, frame: str) -> None:
    assert request_.frame == hexes(frame), meaning


def test_crc_is_crc16_modbus_sent_low_byte_first() -> None:
    assert crc16(b"123456789") == 0x4B37  # the catalogue check value of CRC-16/MODBUS
    assert with_crc(hexes("01 05 00 00 FF 00"))[-2:] == hexes("8C 3A")


def test_requests_refuse_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="unit"):
        write_coil(248, 0, 0)
    with pytest.raises(ValueError, match="16 bits"):
        write_coil(1, 0x10000, 0)
    with pytest.raises(ValueError, match="count"):
        read_coils(1, 0, 0)
    with pytest.raises(ValueError, match="count"):
        write_coils(1, 0, [])


PROFILE_FRAMES = [
    ("standard ON ch1", STANDARD.command(1, 1, True), "01 05 00 00 FF 00 8C 3A", None),
    ("standard has no timer", STANDARD.command(1, 1, True, 30), "01 05 00 00 FF 00 8C 3A", None),
    ("standard OFF ch1", STANDARD.command(1, 1, False), "01 05 00 00 00 00 CD CA", None),
    ("waveshare 0.7 s ch1", WAVESHARE.command(1, 1, True, 0.7), "01 05 02 00 00 07 8D B0", 0.7),
    ("waveshare OFF is plain", WAVESHARE.command(1, 1, False, 5), "01 05 00 00 00 00 CD CA", None),
    ("r421a08 ON ch1", R421A08.command(1, 1, True), "01 06 00 01 01 00 D9 9A", None),
    ("r421a08 OFF ch1", R421A08.command(1, 1, False), "01 06 00 01 02 00 D9 6A", None),
    ("r421a08 delay 10 s", R421A08.command(1, 1, True, 10), "01 06 00 01 06 0A 5B AD", 10.0),
]


@pytest.mark.parametrize(
    ("meaning", "made", "frame", "timer_s"), PROFILE_FRAMES, ids=[p[0] for p in PROFILE_FRAMES]
)
def test_profiles_map_channels_to_the_vendor_frames(
    meaning: str, made: tuple[Request, float | None], frame: str, timer_s: float | None
) -> None:
    request, seconds = made
    assert request.frame == hexes(frame), meaning
    assert seconds == pytest.approx(timer_s) if timer_s is not None else seconds is None


def test_timer_steps_round_up_and_cap_at_the_board_maximum() -> None:
    assert WAVESHARE.timed_off is not None and R421A08.timed_off is not None
    assert WAVESHARE.timed_off.steps(1.5) == 15  # not 16 from float noise
    assert WAVESHARE.timed_off.steps(0.01) == 1
    assert WAVESHARE.timed_off.steps(4000) == 0x7FFF
    assert WAVESHARE.timed_off.max_s == pytest.approx(3276.7)
    assert R421A08.timed_off.steps(1.5) == 2  # never shorter than asked
    assert R421A08.timed_off.steps(300) == 255
    with pytest.raises(ValueError):
        WAVESHARE.timed_off.steps(0)
    assert sorted(PROFILES) == ["r421a08", "standard", "waveshare"]


def test_write_many_uses_one_fc0f_per_run_of_adjacent_coils() -> None:
    assert [r.frame for r in STANDARD.write_many(1, range(1, 9), True)] == [
        hexes("01 0F 00 00 00 08 01 FF BE D5")
    ]
    runs = STANDARD.write_many(1, [5, 1, 2], False)
    assert [(r.function, r.address, r.value) for r in runs] == [(0x0F, 0, 2), (0x0F, 4, 1)]
    singles = R421A08.write_many(1, [2, 1], True)
    assert [(r.function, r.address, r.value) for r in singles] == [(6, 1, 0x100), (6, 2, 0x100)]


def test_read_back_requests_and_states() -> None:
    coils = STANDARD.read(1, 3, 8)
    assert coils.frame == hexes("01 01 00 00 00 08 3D CC")
    assert STANDARD.states(coils, CoilValues(1, (False, False, True) + (False,) * 5))[3] is True
    register = R421A08.read(1, 3, 8)
    assert (register.function, register.address, register.value) == (3, 3, 1)
    assert R421A08.states(register, RegisterValues(1, (1,))) == {3: True}


def parse(request: Request, chunks: list[bytes]) -> tuple[object, int]:
    parser = ReplyParser(request)
    event = None
    for chunk in chunks:
        parser.feed(chunk)
        event = event or parser.next_event()
    return event, parser.discarded


REPLIES = [
    (write_coil(1, 2, 0xFF00), "01 05 00 02 FF 00 2D FA", WriteReply(1, 5, 2, 0xFF00)),
    (read_coils(1, 0, 8), "01 01 01 01 90 48", CoilValues(1, (True,) + (False,) * 7)),
    (read_coils(1, 0, 3), "01 01 01 FF 11 C8", CoilValues(1, (True, True, True))),
    (read_registers(1, 1, 1), with_crc(hexes("01 03 02 00 01")).hex(), RegisterValues(1, (1,))),
    (write_coils(1, 0, [True] * 8), "01 0F 00 00 00 08 54 0D", WriteReply(1, 15, 0, 8)),
    (write_coil(1, 0x20, 0xFF00), "01 85 02 C3 51", ExceptionReply(1, 5, 2)),
]


@pytest.mark.parametrize(("request_", "reply", "event"), REPLIES)
def test_replies_decode_whole_and_byte_by_byte(
    request_: Request, reply: str, event: object
) -> None:
    frame = hexes(reply)
    assert parse(request_, [frame]) == (event, 0)
    assert parse(request_, [bytes([b]) for b in frame]) == (event, 0)


def test_exception_reply_names_the_exception() -> None:
    event, _ = parse(write_coil(1, 0x20, 0xFF00), [hexes("01 85 02 C3 51")])
    assert isinstance(event, ExceptionReply) and event.name == "ILLEGAL DATA ADDRESS"
    assert ExceptionReply(1, 5, 0x42).name == "UNKNOWN EXCEPTION 0x42"


def test_noise_before_a_reply_is_skipped_at_every_split() -> None:
    request = write_coil(1, 2, 0xFF00)
    reply = hexes("01 05 00 02 FF 00 2D FA")
    rng = random.Random(4)
    noises = [
        hexes("00 FF 13"),
        hexes("01 05 00"),  # looks like the start of our reply
        hexes("01 85 07"),  # an exception header with a bad CRC
        hexes("01 05 00 02 FF 00 00 00"),  # our reply with a broken CRC
        with_crc(hexes("02 05 00 02 FF 00")),  # another unit's valid reply
        bytes(rng.randrange(256) for _ in range(40)),
    ]
    for noise in noises:
        data = noise + reply
        for cut in range(len(data) + 1):
            event, discarded = parse(request, [data[:cut], data[cut:]])
            assert event == WriteReply(1, 5, 2, 0xFF00), (noise.hex(" "), cut)
            assert discarded == len(noise)


def test_wrong_byte_count_and_incomplete_frames_wait_or_skip() -> None:
    request = read_coils(1, 0, 8)
    assert parse(request, [hexes("01 01 01 01")]) == (None, 0)  # incomplete: wait
    bad_count = with_crc(hexes("01 01 02 01 00"))
    assert parse(request, [bad_count + hexes("01 01 01 01 90 48")])[0] == CoilValues(
        1, (True,) + (False,) * 7
    )


def test_line_timing_arithmetic() -> None:
    assert silent_interval_s(9600) == pytest.approx(0.00401, abs=1e-5)  # 3.5 × 11 bits
    assert silent_interval_s(9600, bits=10) == pytest.approx(0.003646, abs=1e-5)
    assert silent_interval_s(115200) == 0.00175
    assert line_time_s(8, 9600) == pytest.approx(0.008333, abs=1e-5)
