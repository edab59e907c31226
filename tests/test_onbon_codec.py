"""The Onbon BX-5K/6K codec against the official document's worked frames, both ways, no socket."""

from __future__ import annotations

import pytest

from drivers.protocols import onbon_cmd as cmd
from drivers.protocols.onbon import (
    NEED_DATA,
    Ack,
    DecoderEvent,
    DynamicAreaUpdate,
    Nack,
    OnbonDecoder,
    Reply,
    Request,
    StatusReport,
    error_info,
    parse_dynamic_area,
    parse_reply,
    parse_request,
)
from drivers.protocols.onbon_frame import (
    CorruptFrame,
    Frame,
    FrameDecoder,
    Header,
    crc16,
    encode_frame,
    escape,
    unescape,
)


def doc(hex_bytes: str) -> bytes:
    return bytes.fromhex(hex_bytes)


A5x8 = "A5 A5 A5 A5 A5 A5 A5 A5 "
# "BX-5K/6K通讯协议用户版本" v1.4 (onbonlab/onbonlab.github.io, onbon-docs/docs/zh/k/potocol.md),
# as quoted in reference/device-protocols.md §C.1.
PING = doc(A5x8 + "01 00 00 80 00 00 00 00 00 00 FE 02 05 00 A2 00 01 00 00 68 F8 5A")
WELCOME = doc(
    A5x8 + "FE FF 00 80 00 00 00 00 00 00 FE 02 2C 00 A3 06 01 00 00 00 01 23 00 00 00 80 00 "
    "00 80 80 20 00 00 00 00 0A 00 00 00 00 02 01 01 00 02 0A 08 00 00 00 BB B6 D3 AD B9 E2 "
    "C1 D9 3C 49 5A"
)
# The document prints the card's ACK and NACK with nine A5: any run of A5 is the preamble.
ACK_DOC = doc("A5 " + A5x8 + "00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 00 00 00 00 14 AC 5A")
NACK_DOC = doc("A5 " + A5x8 + "00 80 FE FF 00 00 00 00 00 00 FE 02 05 00 A0 01 05 00 00 05 51 5A")
# Force-on as packed by Onbon's own Java SDK (bx.k.java), quoted in device-protocols.md.
FORCE_ON_SDK = doc(A5x8 + "FE FF 00 80 00 00 00 00 00 00 FE 02 06 00 A3 00 01 00 00 01 5D F1 5A")

# The document's area: 128×32 from (0,0), area 0, run mode 0, timeout 10 s, left, multi-line,
# manual line breaks, static, speed 2, stay 0x0A, text 欢迎光临 without escapes.
WELCOME_AREA = cmd.DynamicArea(
    data="欢迎光临".encode("gb2312"),
    width=128,
    height=32,
    run_mode=cmd.RunMode.LOOP,
    timeout_s=10,
    auto_wrap=False,
    speed=2,
    stay_s=5.0,
)
TO_ANY = Header(dst=0xFFFE)
FROM_CARD = Header(dst=0x8000, src=0xFFFE)


@pytest.mark.parametrize(
    ("name", "data", "header", "wire"),
    [
        ("ping", cmd.ping(), Header(dst=1), PING),
        ("dynamic area 欢迎光临", cmd.dynamic_area([WELCOME_AREA]), TO_ANY, WELCOME),
        ("force on (vendor SDK)", cmd.force_power(True), TO_ANY, FORCE_ON_SDK),
        ("ACK, as the card sends it", bytes.fromhex("A000000000"), FROM_CARD, ACK_DOC[1:]),
        ("NACK 5, as the card sends it", bytes.fromhex("A001050000"), FROM_CARD, NACK_DOC[1:]),
    ],
)
def test_encoding_gives_the_documents_bytes(
    name: str, data: bytes, header: Header, wire: bytes
) -> None:
    assert encode_frame(data, header).hex(" ") == wire.hex(" "), name


def test_the_documents_ping_decodes_to_a_ping_request() -> None:
    frame = only_frame(PING)
    assert frame.header == Header(dst=1, src=0x8000, device_type=0xFE, protocol_version=2)
    assert parse_request(frame.data) == Request(0xA2, 0x00, reply=True, body=b"")


def test_the_documents_dynamic_area_decodes_to_its_fields() -> None:
    frame = only_frame(WELCOME)
    assert frame.header.dst == 0xFFFE
    update = parse_dynamic_area(frame.data)
    assert update == DynamicAreaUpdate((WELCOME_AREA,), delete=(), delete_all=False, reinit=False)
    assert update.areas[0].data.decode("gb2312") == "欢迎光临"


@pytest.mark.parametrize(
    ("wire", "event"), [(ACK_DOC, Ack()), (NACK_DOC, Nack(5))], ids=["ACK", "NACK"]
)
def test_the_documents_replies_decode_to_events(wire: bytes, event: DecoderEvent) -> None:
    assert events(wire) == [event]


def test_a_nack_says_its_error_code_and_meaning() -> None:
    nack = events(NACK_DOC)[0]
    assert isinstance(nack, Nack)
    assert (nack.code, nack.name) == (5, "ERR_CHECKSUM")
    assert nack.meaning == "CRC16 校验错误 / CRC16 checksum error"
    assert error_info(13)[0] == "ERR_FIRMWARE_TYPE"
    assert error_info(99) == ("ERR_UNKNOWN", "未知错误", "unknown error")


@pytest.mark.parametrize("wire", [PING, WELCOME, ACK_DOC, NACK_DOC, FORCE_ON_SDK])
def test_crc16_arc_matches_every_documented_frame(wire: bytes) -> None:
    body = unescape(wire.lstrip(b"\xa5")[:-1])
    assert crc16(body[:-2]) == int.from_bytes(body[-2:], "little")


def test_crc16_arc_check_value() -> None:
    assert crc16(b"123456789") == 0xBB3D  # the catalogue's check value for CRC-16/ARC


def test_escaping_follows_the_document_and_round_trips_every_byte() -> None:
    assert escape(bytes.fromhex("A5 A6 5A 5B 00")) == bytes.fromhex("A6 02 A6 01 5B 02 5B 01 00")
    every = bytes(range(256)) * 2
    assert b"\xa5" not in escape(every) and b"\x5a" not in escape(every)
    assert unescape(escape(every)) == every
    with pytest.raises(ValueError, match="bad escape"):
        unescape(bytes.fromhex("01 A6 03"))


def test_bytes_needing_escapes_survive_a_frame() -> None:
    # "Z" is 0x5A and "[" 0x5B; GB2312 puts katakana (ア: A5 A2) and Greek (α: A6 C1) behind
    # the lead bytes A5 and A6.
    data = cmd.dynamic_area(
        [cmd.DynamicArea(cmd.encode_text("ZZ[[ ア α", font_px=16), width=64, height=16)]
    )
    wire = encode_frame(data, Header(dst=0x5A5B))
    assert wire.count(0x5A) == 1 and wire.count(0xA5) == 8
    frame = only_frame(wire)
    assert (frame.header.dst, frame.data) == (0x5A5B, data)


def test_split_input_waits_for_the_rest() -> None:
    decoder = OnbonDecoder()
    for byte in ACK_DOC[:-1]:
        decoder.feed(bytes((byte,)))
        assert decoder.next_event() is NEED_DATA
    decoder.feed(ACK_DOC[-1:])
    assert decoder.next_event() == Ack()
    assert decoder.next_event() is NEED_DATA


def test_garbage_around_frames_is_skipped_and_counted() -> None:
    decoder = OnbonDecoder()
    decoder.feed(b"\x00\xffjunk\x5a" + ACK_DOC + b"noise" + NACK_DOC + b"tail")
    assert drain(decoder) == [Ack(), Nack(5)]
    assert decoder.discarded == len(b"\x00\xffjunk\x5a") + len(b"noise") + len(b"tail")


def test_a_damaged_frame_is_reported_and_the_next_one_decodes() -> None:
    damaged = bytearray(ACK_DOC)
    damaged[-3] ^= 0x01  # flip a CRC bit
    cut_short = ACK_DOC[:20]  # a frame that lost its end: the next preamble ends it
    bad_escape = doc(A5x8 + "00 80 A6 07 5A")
    decoder = OnbonDecoder()
    decoder.feed(bytes(damaged) + cut_short + bad_escape + NACK_DOC)
    got = drain(decoder)
    assert [type(e) for e in got] == [CorruptFrame, CorruptFrame, CorruptFrame, Nack]
    reasons = [e.reason for e in got if isinstance(e, CorruptFrame)]
    assert "checksum" in reasons[0] and "preamble" in reasons[1] and "escape" in reasons[2]


def test_a_wrong_data_length_and_a_frame_without_end_are_corrupt() -> None:
    wrong_len = bytearray(unescape(ACK_DOC.lstrip(b"\xa5")[:-1]))
    wrong_len[12] = 6
    decoder = FrameDecoder()
    decoder.feed(b"\xa5" * 8 + escape(bytes(wrong_len)) + b"\x5a")
    first = decoder.next_frame()
    assert isinstance(first, CorruptFrame) and "DataLen" in first.reason
    decoder.feed(b"\xa5" * 3 + b"\x01" * 5000)
    endless = decoder.next_frame()
    assert isinstance(endless, CorruptFrame) and "no end byte" in endless.reason
    assert decoder.next_frame() is None


def test_a_status_report_is_read() -> None:
    data = bytes.fromhex("A1 02 00 00 00 01 0F 26 20 05 01 05 08 30 00 02 50 30 30 31 00 00 01 00")
    report = parse_reply(data)
    assert isinstance(report, StatusReport)
    assert (report.powered, report.brightness, report.programs) == (True, 15, 2)
    assert report.clock is not None and report.clock.isoformat() == "2026-05-01T08:30:00"
    assert report.current_program == "P001"
    no_clock = parse_reply(data[:7] + b"\x99" * 8 + data[15:])
    assert isinstance(no_clock, StatusReport) and no_clock.clock is None
    assert parse_reply(bytes.fromhex("A2 07 00 00 00 01 00")) == Reply(0xA2, 0x07, 0, b"\x01\x00")
    with pytest.raises(ValueError, match="too short"):
        parse_reply(b"\xa0\x00")


def test_simple_requests() -> None:
    assert cmd.ping() == bytes.fromhex("A2 00 01 00 00")
    assert cmd.status_query() == bytes.fromhex("A1 02 01 00 00")
    assert cmd.force_power(True) == bytes.fromhex("A3 00 01 00 00 01")
    assert cmd.force_power(False) == bytes.fromhex("A3 00 01 00 00 02")
    assert cmd.clear_screen() == bytes.fromhex("A3 10 01 00 00")
    assert cmd.dynamic_area([], delete_all=True) == bytes.fromhex("A3 06 01 00 00 FF 00")


def test_dynamic_areas_round_trip() -> None:
    slogan = cmd.DynamicArea(
        data=cmd.encode_text("天上不会掉馅饼", font_px=24, color="yellow"),
        width=192,
        height=48,
        x=8,
        y=16,
        area_id=3,
        timeout_s=65,
        alignment=0b1010,
        single_line=True,
        effect=cmd.Effect.SCROLL_LEFT,
        speed=0x18,
        stay_s=2.5,
    )
    data = cmd.dynamic_area([slogan, WELCOME_AREA], delete=[1, 2], reinit=True)
    assert parse_dynamic_area(data) == DynamicAreaUpdate(
        (slogan, WELCOME_AREA), delete=(1, 2), delete_all=False, reinit=True
    )
    with pytest.raises(ValueError, match=r"truncated|bytes"):
        parse_dynamic_area(data[:-3])
    with pytest.raises(ValueError, match="width 40000"):
        cmd.area_bytes(cmd.DynamicArea(b"", width=40000, height=32))


def test_text_carries_font_and_colour_escapes() -> None:
    assert cmd.encode_text("欢迎光临") == "欢迎光临".encode("gb2312")
    assert cmd.encode_text("拨打110", font_px=16, color="red") == (
        b"\\FO000\\C1" + "拨打".encode("gb2312") + b"\\FE000110"
    )
    assert cmd.encode_text("A\n乙", font_px=32) == b"\\FO002\\FE002A\\n\\FO002" + "乙".encode(
        "gb2312"
    )
    assert cmd.encode_text("a\\b\tc", color="green") == b"\\C2a" + "＼".encode("gb2312") + b"b c"
    with pytest.raises(ValueError, match="font size 20"):
        cmd.encode_text("字", font_px=20)


@pytest.mark.parametrize(
    ("text", "bad", "code"), [("谨防诈骗😀", "😀", "U+1F600"), ("王堃", "堃", "U+5803")]
)
def test_text_outside_gb2312_is_refused_naming_the_character(
    text: str, bad: str, code: str
) -> None:
    with pytest.raises(ValueError, match="GB2312") as err:
        cmd.encode_text(text, font_px=16, color="red")
    assert bad in str(err.value) and code in str(err.value)
    assert str(err.value).index("字符") < str(err.value).index("character")  # Chinese first


def only_frame(wire: bytes) -> Frame:
    decoder = FrameDecoder()
    decoder.feed(wire)
    frame = decoder.next_frame()
    assert isinstance(frame, Frame), frame
    assert decoder.next_frame() is None
    return frame


def drain(decoder: OnbonDecoder) -> list[DecoderEvent]:
    out: list[DecoderEvent] = []
    while (event := decoder.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def events(wire: bytes) -> list[DecoderEvent]:
    decoder = OnbonDecoder()
    decoder.feed(wire)
    return drain(decoder)
