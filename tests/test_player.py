"""The player with real ffmpeg and real outputs: on time, exact length, order, gaps, fades, cuts.

What is about real time (on time, in real time, a prompt stop, a sound card) runs on the system
clock; what is about frames (order, gaps, fades, cuts, failures) on the virtual clock, where
the player thread is held to air time without waiting for it. Clips that fail, the snapshot,
the envelope and memory are in test_player_clips.py; the rig is tests/rig_player.py."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from rig_player import (
    CLIP_S,
    RATE,
    Aired,
    SpyFile,
    air,
    ffmpeg_children,
    looped,
    media,
    pitch,
    program,
    sound_runs,
    virtual,
)
from waiting import wait_for

from controller.playout.player import (
    AudioEnded,
    AudioStarted,
    ClipFinished,
    ClipStarted,
    Player,
)
from drivers.audio.file import FileOutput

__all__ = ["looped", "media"]  # the fixtures, imported so pytest finds them here


def test_recording_is_exactly_total_frames(looped: Aired) -> None:
    assert len(looped.pcm) == round(2.5 * RATE)
    assert looped.result.frames_written == round(2.5 * RATE)
    assert looped.result.reason == "complete"
    assert looped.result.recording is not None
    assert looped.result.recording.name == "早间_looped.flac"


def test_clips_loop_in_order_with_gaps(looped: Aired) -> None:
    runs = sound_runs(looped.pcm)
    starts = [s / RATE for s, _ in runs]
    assert starts == pytest.approx([0.0, 0.8, 1.6, 2.4], abs=0.005)
    assert [round(pitch(looped.pcm[s:e])) for s, e in runs[:3]] == [440, 660, 440]
    assert (runs[0][1] - runs[0][0]) / RATE == pytest.approx(CLIP_S, abs=0.005)


def test_fade_ends_at_zero_on_the_last_frame(looped: Aired) -> None:
    pcm = looped.pcm.astype(np.int32)
    assert np.all(pcm[-1] == 0)
    peaks = [np.abs(pcm[-4800 + i * 960 : -4800 + (i + 1) * 960 or None]).max() for i in range(5)]
    assert peaks == sorted(peaks, reverse=True) and peaks[-1] < peaks[0] / 3
    assert np.abs(pcm[-int(0.5 * RATE) : -int(0.3 * RATE)]).max() > 2000  # untouched before


def test_first_frame_on_time_and_written_in_real_time(looped: Aired) -> None:
    result, first = looped.result, looped.result.first_frame_mono
    assert first is not None and result.last_frame_mono is not None
    assert 0 <= first - looped.program.start_mono <= 0.05  # a sanity bound; see bench/
    started = next(e for e in looped.events if isinstance(e, AudioStarted))
    assert started.first_frame_mono == first
    out = looped.output
    assert isinstance(out, SpyFile)
    for at, frames_before in out.writes:  # never ahead of its air time
        assert at >= first + frames_before / RATE - 1e-6
    assert result.last_frame_mono - first == pytest.approx(2.5, abs=0.05)


def test_events_tell_the_story(looped: Aired) -> None:
    events = looped.events
    assert isinstance(events[0], AudioStarted)
    starts = [e for e in events if isinstance(e, ClipStarted)]
    assert [(e.index, e.at_frame) for e in starts] == [
        (0, 0),
        (1, round(0.8 * RATE)),
        (0, round(1.6 * RATE)),
        (1, round(2.4 * RATE)),
    ]
    finished = [(e.index, e.frames, e.complete) for e in events if isinstance(e, ClipFinished)]
    whole = round(CLIP_S * RATE)
    assert finished == [(0, whole, True), (1, whole, True), (0, whole, True), (1, 4800, False)]
    assert events[-1] == AudioEnded(round(2.5 * RATE), "complete", looped.result.last_frame_mono)
    assert [c.index for c in looped.result.clips] == [0, 1, 0, 1]


def test_first_clip_starts_the_airing(media: Path, tmp_path: Path) -> None:
    clips = [media / "c0.wav", media / "c1.mp3", media / "c2.ogg"]
    clock, prog = virtual(lambda now: program(clips, 1.0, first_clip=2, start_mono=now + 0.3))
    aired = air(prog, FileOutput(tmp_path), clock=clock)
    runs = sound_runs(aired.pcm)
    assert [round(pitch(aired.pcm[s:e]), -1) for s, e in runs] == [880, 440]
    assert next(e for e in aired.events if isinstance(e, ClipStarted)).index == 2


def test_cut_ends_early_with_the_fade_ending_on_the_cut(media: Path, tmp_path: Path) -> None:
    clock, prog = virtual(lambda now: program([media / "c0.wav"], 5.0, gap_s=0.0, start_mono=now))
    me = clock.hold()  # this thread: time moves while it pauses

    def cut(player: Player) -> None:
        with me:
            me.pause(0.8)
            player.cut(prog.start_mono + 1.5, fade_s=0.3)

    aired = air(prog, FileOutput(tmp_path), cut, clock)
    first, last = aired.result.first_frame_mono, aired.result.last_frame_mono
    assert first is not None and last is not None
    assert aired.result.reason == "cut"
    # frames are counted from the real first frame, so the fade ends on the cut's instant
    assert len(aired.pcm) == round((prog.start_mono + 1.5 - first) * RATE)
    assert np.all(aired.pcm[-1] == 0)
    assert np.abs(aired.pcm[-int(0.35 * RATE) : -int(0.32 * RATE)]).max() > 2000
    assert np.abs(aired.pcm[-int(0.05 * RATE) :]).max() < 2000 * 0.3
    assert last - prog.start_mono == pytest.approx(1.5, abs=0.05)


def test_late_cut_fades_over_what_remains(media: Path, tmp_path: Path) -> None:
    clock, prog = virtual(lambda now: program([media / "c0.wav"], 5.0, gap_s=0.0, start_mono=now))
    me = clock.hold()

    def cut(player: Player) -> None:
        with me:
            me.pause(1.0)
            player.cut(prog.start_mono + 1.1, fade_s=1.0)  # only ~0.1 s left for a 1 s fade

    aired = air(prog, FileOutput(tmp_path), cut, clock)
    assert aired.result.reason == "cut"
    assert len(aired.pcm) / RATE == pytest.approx(1.1, abs=0.03)
    assert np.all(aired.pcm[-1] == 0)
    steps = np.abs(np.diff(aired.pcm[:, 0].astype(np.int32)))
    assert steps.max() < 1000  # no click: the gain never jumps


def test_stop_ends_promptly(media: Path, tmp_path: Path) -> None:
    prog = program([media / "c0.wav"], 10.0, gap_s=0.0)
    stopped: list[float] = []

    def stop(player: Player) -> None:
        # Half a second into the airing, by what the player has aired: a stop mid-clip.
        assert wait_for(lambda: player.snapshot().frames_written >= RATE // 2, 10)
        stopped.append(time.monotonic())
        player.stop()
        assert player.wait(0.2) is not None

    aired = air(prog, FileOutput(tmp_path), stop)
    assert aired.result.reason == "stopped"
    heard_s = len(aired.pcm) / RATE - (stopped[0] - prog.start_mono)
    assert 0 <= heard_s <= 0.07  # ≤ 50 ms ramp plus the block in hand
    assert np.all(aired.pcm[-1] == 0)


def test_stop_and_cut_before_the_start(media: Path, tmp_path: Path) -> None:
    prog = program([media / "c0.wav"], 2.0, start_mono=time.monotonic() + 1.0)
    aired = air(prog, FileOutput(tmp_path), lambda p: p.stop())
    assert (aired.result.reason, aired.result.frames_written) == ("stopped", 0)
    assert not any(isinstance(e, AudioStarted) for e in aired.events)
    prog = program([media / "c0.wav"], 2.0, start_mono=time.monotonic() + 1.0)
    aired = air(prog, FileOutput(tmp_path), lambda p: p.cut(prog.start_mono - 0.1))
    assert (aired.result.reason, aired.result.frames_written) == ("cut", 0)
    assert aired.events == [AudioEnded(0, "cut", None)]
    assert ffmpeg_children() == []
