"""The player with clips that fail or go away, its snapshot, a sound card's pace, the envelope,
a Program that checks itself, and thirty minutes in flat memory. Rig: tests/rig_player.py."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import rig_player as rig
from media_files import sine
from rig_player import media

from controller.core.clock import SystemClock
from controller.playout.clipstream import ProgramSource
from controller.playout.decode import ClipDecoder
from controller.playout.player import (
    ClipFailed,
    Envelope,
    Player,
    PlayerEvent,
    Program,
)
from drivers.audio.alsa import AlsaOutput
from drivers.audio.base import PcmFormat
from drivers.audio.file import FileOutput

__all__ = ["media"]  # the fixture, imported so pytest finds it here


def test_broken_clip_is_reported_once_and_skipped(media: Path, tmp_path: Path) -> None:
    clips = [media / "c0.wav", media / "broken.mp3", media / "c1.mp3"]
    clock, prog = rig.virtual(lambda now: rig.program(clips, 2.4, start_mono=now + 0.3))
    aired = rig.air(prog, FileOutput(tmp_path), clock=clock)
    failed = [e for e in aired.events if isinstance(e, ClipFailed)]
    assert [(e.index, e.path.name) for e in failed] == [(1, "broken.mp3")]
    assert failed[0].reason
    runs = rig.sound_runs(aired.pcm)
    assert [s / rig.RATE for s, _ in runs] == pytest.approx([0.0, 0.8, 1.6], abs=0.005)
    assert [round(rig.pitch(aired.pcm[s:e])) for s, e in runs[:2]] == [440, 660]
    assert len(aired.pcm) == round(2.4 * rig.RATE) and aired.result.reason == "complete"


def test_a_clip_no_longer_allowed_is_skipped_at_the_next_boundary(
    media: Path, tmp_path: Path
) -> None:
    c0, c1 = media / "c0.wav", media / "c1.mp3"
    asked: list[str] = []

    def allow(path: Path) -> bool:  # c1 expires while c0 is on rig.air
        asked.append(path.name)
        return path != c1 or len(asked) < 2

    clock, prog = rig.virtual(
        lambda now: rig.program([c0, c1], 2.4, allow=allow, start_mono=now + 0.3)
    )
    aired = rig.air(prog, FileOutput(tmp_path), clock=clock)
    failed = [e for e in aired.events if isinstance(e, ClipFailed)]
    assert [(e.path.name, e.reason) for e in failed] == [
        ("c1.mp3", "已过期或已撤下 / expired or retired")
    ]
    runs = rig.sound_runs(aired.pcm)
    assert [round(rig.pitch(aired.pcm[s:e])) for s, e in runs] == [440, 440, 440]  # c0 only
    assert len(aired.pcm) == round(2.4 * rig.RATE)


def test_all_clips_failing_airs_silence_for_the_full_length(media: Path, tmp_path: Path) -> None:
    clips = [media / "broken.mp3", media / "missing.mp3"]
    clock, prog = rig.virtual(lambda now: rig.program(clips, 0.6, start_mono=now + 0.3))
    aired = rig.air(prog, FileOutput(tmp_path), clock=clock)
    assert len(aired.pcm) == round(0.6 * rig.RATE) and not aired.pcm.any()
    assert [e.index for e in aired.events if isinstance(e, ClipFailed)] == [0, 1]
    assert aired.result.reason == "complete" and len(aired.result.failures) == 2


def test_snapshot_follows_the_airing(media: Path, tmp_path: Path) -> None:
    events: list[PlayerEvent] = []
    player = Player(
        FileOutput(tmp_path), rig.FMT, ClipDecoder(rig.FMT), SystemClock(), events.append
    )
    assert player.snapshot().state == "idle"
    prog = rig.program([media / "c0.wav", media / "c1.mp3"], 1.2)
    player.start(prog)
    with pytest.raises(RuntimeError):
        player.start(prog)
    # Positioned on the real clock, 0.3 s after the airing's start: the snapshot is to follow it.
    time.sleep(prog.start_mono - time.monotonic() + 0.3)
    snap = player.snapshot()
    assert (snap.state, snap.clip_index) == ("playing", 0)
    assert snap.position_s == pytest.approx(0.3, abs=0.05)
    assert snap.frames_written == pytest.approx(0.3 * rig.RATE, abs=0.05 * rig.RATE)
    assert not snap.in_gap
    time.sleep(prog.start_mono - time.monotonic() + 0.7)  # on the real clock again: 0.6..0.8
    snap = player.snapshot()  # in the gap after c0, which the console still shows
    assert (snap.clip_index, snap.in_gap) == (0, True)
    assert snap.position_s == pytest.approx(rig.CLIP_S)
    assert player.wait(5) is not None
    assert player.snapshot().state == "ended"
    assert rig.ffmpeg_children() == []  # the look-ahead and the cut-off clip were reaped


def test_sound_card_output_keeps_real_time(media: Path) -> None:
    out = AlsaOutput(backend="null")
    aired = rig.air(rig.program([media / "c0.wav"], 1.5), out)
    first, last = aired.result.first_frame_mono, aired.result.last_frame_mono
    assert first is not None and last is not None
    assert last - first == pytest.approx(1.5, abs=0.1)
    assert out.frames_played == round(1.5 * rig.RATE) and out.underruns == 0


def test_envelope_ramps_end_on_zero_and_never_jump() -> None:
    env = Envelope(channels=1)
    env.add(90, 1.0, 100)
    assert env.gain_at(89) == 1.0 and env.gain_at(99) == 0.0
    env.add(95, env.gain_at(95), 98)  # an earlier end from where the gain is now
    gains = [env.gain_at(f) for f in range(90, 98)]
    assert gains == sorted(gains, reverse=True) and gains[-1] == 0.0
    loud = np.full(10, -32768, dtype=np.int16).tobytes()
    faded = np.frombuffer(env.apply(loud, 90), dtype=np.int16)
    assert faded[0] == -32768 and faded[-2:].tolist() == [0, 0]


def test_program_validates_itself(media: Path) -> None:
    with pytest.raises(ValueError):
        Program((), 0.0, 0.0, 10, 0)
    with pytest.raises(ValueError):
        Program((media / "c0.wav",), 0.0, 0.0, 10, 0, first_clip=1)


def test_source_streams_thirty_minutes_in_flat_memory(tmp_path: Path) -> None:
    fmt = PcmFormat(8000, 1)  # the player's logic at a rate that reads fast
    long = sine(tmp_path / "five-minutes.wav", 300, 300, 8000)
    prog = Program((long,), 0.5, 0.0, 1800 * 8000, 0)
    tracemalloc.start()
    try:
        src = ProgramSource(prog, ClipDecoder(fmt, block_frames=8000), fmt, lambda e: None)
        src.prime()
        total = sum(len(src.read(8000)) for _ in range(1800))
        src.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 1800 * 8000 * 2
    assert [c.complete for c in src.clips_played] == [True] * 5 + [False]  # 300.5 s rounds
    assert peak < 2_000_000  # 30 min of this PCM alone would be 28.8 MB
