"""The airing id: one module writes and reads it; texts written by earlier releases still read."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from controller.config.models import SlotConfig
from controller.core.airing_id import AiringId

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_slot_airing_is_its_start_in_station_time_and_its_slot() -> None:
    found = AiringId.for_slot("早间", datetime(2026, 12, 2, 7, tzinfo=SH))
    assert str(found) == "2026-12-02T07:00:00+08:00|早间"
    assert (found.slot, found.start_text, found.override_id) == (
        "早间",
        "2026-12-02T07:00:00+08:00",
        None,
    )
    assert AiringId.parse(str(found)) == found


def test_the_same_wall_time_twice_in_a_dst_night_gives_two_ids() -> None:
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = first.replace(fold=1)
    ids = {str(AiringId.for_slot("夜间", first)), str(AiringId.for_slot("夜间", second))}
    assert ids == {"2026-10-25T02:30:00+02:00|夜间", "2026-10-25T02:30:00+01:00|夜间"}


def test_an_override_and_its_resumed_segments() -> None:
    airing = AiringId.for_override("0a1b2c3d4e5f")
    segment = airing.resumed(2)
    assert (str(airing), str(segment)) == ("ov:0a1b2c3d4e5f", "ov:0a1b2c3d4e5f#r2")
    assert AiringId.parse("ov:0a1b2c3d4e5f#r2") == segment
    assert segment.airing == airing and segment.override_id == "0a1b2c3d4e5f"
    assert segment.slot is None
    assert AiringId.base_of("ov:0a1b2c3d4e5f#r2") == "ov:0a1b2c3d4e5f"


def test_a_segment_of_a_slot_names_the_slot() -> None:
    text = "2026-12-01T18:00:00+08:00|晚间#r1"
    parsed = AiringId.parse(text)
    assert (parsed.base, parsed.segment, parsed.slot) == (
        "2026-12-01T18:00:00+08:00|晚间",
        1,
        "晚间",
    )
    assert str(parsed) == text


@pytest.mark.parametrize(
    "text",
    ["", "no separator", "ov" + "x" * 400, "ov:a\x00", "2026-12-01T18:00:00+08:00|a\x00"],
)
def test_text_no_airing_could_have_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        AiringId.parse(text)
    assert AiringId.base_of(text) == text  # read back as it is, never cut


@pytest.mark.parametrize("bad", ["", "a|b", "a#r1"])
def test_an_override_id_cannot_look_like_another_kind(bad: str) -> None:
    with pytest.raises(ValueError):
        AiringId.for_override(bad)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        AiringId.for_slot("早间", datetime(2026, 12, 2, 7))


def test_a_request_may_name_an_override_by_its_airing_or_its_own_id() -> None:
    assert AiringId.override_named("ov:abc") == "abc"
    assert AiringId.override_named("ov:abc#r3") == "abc"
    assert AiringId.override_named("abc") == "abc"
    slot = "2026-12-02T07:00:00+08:00|早间"
    assert AiringId.override_named(slot) == slot  # no override by that name: a 404 later


def test_segments_like_matches_only_the_airings_own_segments() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id TEXT)")
    base = "2026-12-02T07:00:00+08:00|a_b%"
    texts = [base, f"{base}#r1", f"{base}#r12", "2026-12-02T07:00:00+08:00|aXbY#r1"]
    db.executemany("INSERT INTO t VALUES (?)", [(t,) for t in texts])
    pattern, escape = AiringId(base).segments_like()
    found = db.execute("SELECT id FROM t WHERE id LIKE ? ESCAPE ?", (pattern, escape)).fetchall()
    assert sorted(r[0] for r in found) == [f"{base}#r1", f"{base}#r12"]


@pytest.mark.parametrize("name", ["早间#r1", "a\x00b"])
def test_a_slot_name_that_would_read_as_a_segment_is_a_config_error(name: str) -> None:
    with pytest.raises(ValidationError, match="时段名称"):
        SlotConfig.model_validate({"name": name, "start": "07:00", "duration": 60, "playlist": "p"})


def test_a_slot_name_with_a_bar_or_a_hash_still_round_trips() -> None:
    SlotConfig.model_validate(
        {"name": "早|间#r", "start": "07:00", "duration": 60, "playlist": "p"}
    )
    found = AiringId.for_slot("早|间#r", datetime(2026, 12, 2, 7, tzinfo=SH))
    assert AiringId.parse(str(found)).slot == "早|间#r"
