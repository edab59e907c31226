"""Air-checks as FLAC (issue 11, item 8): what the player wrote is what decodes, sample by
sample; a kill -9 leaves a file that decodes up to (nearly) the point of death, or a valid
empty one before any audio; the encoder thread never holds the player up for the disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from airchecks import decode, frames
from media_files import has_espeak, speech_wav, tone

from controller.core.clock import SystemClock
from controller.playout.decode import ClipDecoder
from controller.playout.player import Player, PlayerEvent, Program
from drivers.audio.base import PcmFormat
from drivers.audio.file import FileOutput
from drivers.audio.flac import AircheckWriteError, FlacWriter

ROOT = Path(__file__).resolve().parents[1]
FMT = PcmFormat(48000, 2)
RATE = FMT.sample_rate
BLOCK = 960 * FMT.frame_bytes  # the player's 20 ms
FLAC_BLOCK = 4096  # frames libFLAC holds before it writes a frame (85 ms at 48 kHz)


def noise(frames: int, seed: int = 7) -> bytes:
    """Loud, incompressible stereo: every sample matters and both channels differ."""
    rng = np.random.default_rng(seed)
    return rng.integers(-20000, 20000, size=(frames, 2), dtype=np.int16).tobytes()


class Tee:
    """The file output, keeping a copy of exactly what the player gave it."""

    paced = False

    def __init__(self, out: FileOutput) -> None:
        self.out, self.given = out, bytearray()

    def open(self, fmt: PcmFormat, label: str) -> None:
        self.out.open(fmt, label)

    def write(self, pcm: bytes) -> None:
        self.given += pcm
        self.out.write(pcm)

    def close(self) -> Path | None:
        return self.out.close()


@pytest.mark.skipif(not has_espeak(), reason="needs espeak-ng")
def test_an_air_check_decodes_to_exactly_what_the_player_wrote(tmp_path: Path) -> None:
    clips = [speech_wav(tmp_path / "speech.wav"), tone(tmp_path / "ding.mp3", seconds=0.5)]
    tee = Tee(FileOutput(tmp_path / "aircheck"))
    events: list[PlayerEvent] = []
    player = Player(tee, FMT, ClipDecoder(FMT), SystemClock(), events.append)
    total = round(2.5 * RATE)
    player.start(Program(tuple(clips), 0.2, time.monotonic() + 0.3, total, RATE // 10,
                         label="早间 speech"))  # fmt: skip
    result = player.wait(timeout=15)
    assert result is not None and result.recording is not None
    assert result.recording == tmp_path / "aircheck" / "早间_speech.flac"
    assert result.frames_written == total and len(tee.given) == total * FMT.frame_bytes
    aired = np.frombuffer(bytes(tee.given), dtype=np.int16).reshape(-1, 2)
    assert np.abs(aired).max() > 1000  # real sound, not a file of silence
    recorded = decode(result.recording)
    assert recorded.shape == aired.shape
    assert np.array_equal(recorded, aired)  # every sample, both channels
    assert soundfile.info(str(result.recording)).frames == total  # the header says so too
    assert result.recording.stat().st_size < len(tee.given) / 2


def run_and_kill(folder: Path, frames_to_write: int) -> None:
    """A process that opens an air-check, writes at air pace, then dies by SIGKILL."""
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        from pathlib import Path
        from drivers.audio.base import PcmFormat
        from drivers.audio.file import FileOutput
        from test_aircheck_flac import BLOCK, noise
        out = FileOutput(Path({str(folder)!r}))
        out.open(PcmFormat(48000, 2), "killed")
        pcm = noise({frames_to_write})
        began = time.monotonic()
        for n, i in enumerate(range(0, len(pcm), BLOCK)):
            time.sleep(max(0.0, began + n * 0.02 - time.monotonic()))
            out.write(pcm[i : i + BLOCK])
        os.kill(os.getpid(), signal.SIGKILL)  # at once: the last blocks may still be queued
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()


def test_a_kill_mid_airing_leaves_what_aired_up_to_the_last_flac_frame(tmp_path: Path) -> None:
    written = round(1.5 * RATE)
    run_and_kill(tmp_path, written)
    (path,) = tmp_path.glob("*.flac")
    assert path.name == "killed.flac"
    recorded = decode(path)
    expected = np.frombuffer(noise(written), dtype=np.int16).reshape(-1, 2)
    # lost: at most libFLAC's block in hand and the block or two still queued at the kill
    assert written - FLAC_BLOCK - 2 * 960 <= len(recorded) <= written
    assert np.array_equal(recorded, expected[: len(recorded)])
    assert frames(path) == len(recorded)


def test_a_kill_before_the_first_frame_leaves_a_valid_flac_of_no_frames(tmp_path: Path) -> None:
    run_and_kill(tmp_path, 0)
    (path,) = tmp_path.glob("*.flac")
    info = soundfile.info(str(path))
    assert (info.format, info.channels, info.samplerate) == ("FLAC", 2, RATE)
    assert decode(path).shape == (0, 2)


def test_writes_return_at_once_while_the_disk_stalls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that hangs for 1 s: 5 s of blocks still go in without waiting (the queue holds
    10 s); once more than that is queued, `put` waits for the disk (the frames are the air)."""
    disk = threading.Event()
    out = FileOutput(tmp_path)
    out.open(FMT, "stall")
    writer = out._writer
    assert writer is not None
    real = writer._sf.buffer_write

    def stalled(data: bytes, dtype: str) -> None:
        disk.wait()
        real(data, dtype=dtype)

    monkeypatch.setattr(writer._sf, "buffer_write", stalled)
    pcm = noise(5 * RATE)
    longest = 0.0
    for i in range(0, len(pcm), BLOCK):
        began = time.perf_counter()
        out.write(pcm[i : i + BLOCK])
        longest = max(longest, time.perf_counter() - began)
    assert longest < 0.05
    threading.Timer(1.0, disk.set).start()
    began = time.perf_counter()
    out.write(noise(6 * RATE, seed=8))  # past the 10 s the queue holds: waits for the disk
    assert time.perf_counter() - began >= 0.8
    path = out.close()
    assert path is not None and frames(path) == 11 * RATE


def test_a_failed_disk_write_reaches_the_player_as_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fd = os.open(tmp_path / "full.flac", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    writer = FlacWriter(fd, tmp_path / "full.flac", FMT, max_queued_s=0.1)

    def full(data: bytes, dtype: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer._sf, "buffer_write", full)
    writer.put(noise(960))
    with pytest.raises(AircheckWriteError, match="录音写入失败 / air-check write failed"):
        for _ in range(100):  # the next put after the encoder failed, at the latest
            writer.put(noise(960))
            time.sleep(0.01)
    with pytest.raises(AircheckWriteError, match="No space left"):
        writer.close()


def test_housekeeping_runs_at_the_start_every_interval_and_after_the_end(tmp_path: Path) -> None:
    calls: list[int] = []
    made: list[FlacWriter] = []  # the first call may come before the constructor returns
    fd = os.open(tmp_path / "h.flac", os.O_WRONLY | os.O_CREAT | os.O_EXCL)

    def housekeeping() -> None:
        calls.append(made[0].frames if made else 0)

    writer = FlacWriter(fd, tmp_path / "h.flac", FMT, housekeeping, every_s=1.0)
    made.append(writer)
    pcm = noise(3 * RATE + 100)
    for i in range(0, len(pcm), BLOCK):
        writer.put(pcm[i : i + BLOCK])
        assert writer.drained(5)
    assert writer.close()
    assert calls[0] == 0 and calls[-1] == 3 * RATE + 100
    assert [c // RATE for c in calls[1:-1]] == [1, 2, 3]


def test_a_housekeeping_failure_does_not_stop_the_recording(tmp_path: Path) -> None:
    def broken() -> None:
        raise PermissionError("the folder is read-only")

    fd = os.open(tmp_path / "h.flac", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    writer = FlacWriter(fd, tmp_path / "h.flac", FMT, broken)
    writer.put(noise(4800))
    assert writer.close()
    assert frames(tmp_path / "h.flac") == 4800
