"""Wall-clock steps against the player and the step watch: what the record would say.

Steps the *injected* wall clock (never the machine's) by +8 s before the start and by ±90 s
mid-airing, airs a real programme on a file output, and prints the airing's length as the
runner computed it before issue 9 (both ends converted from monotonic time with the offset
of the moment they were handled) and as PlayResult gives it now (first_frame_wall +
frames/rate). Also times how soon the Waker's ClockStepWatch reports a step.
Usage: .venv/bin/python bench/clock_step.py [--length 3]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.core.clock import ClockStep, SystemClock, mono_to_wall
from controller.playout.decode import ClipDecoder, find_ffmpeg
from controller.playout.player import AudioStarted, Player, PlayerEvent, Program
from controller.station.waker import Waker
from drivers.audio.base import PcmFormat
from drivers.audio.file import FileOutput

FMT = PcmFormat(48000, 2)


class SteppedClock(SystemClock):
    """The system clock, with the wall reading moved by `step_s` from monotonic `at` on."""

    def __init__(self, at: float, step_s: float) -> None:
        self.at, self.step_s = at, step_s

    def now(self) -> datetime:
        moved = time.monotonic() >= self.at
        return datetime.now(UTC) + timedelta(seconds=self.step_s if moved else 0.0)


def air(clip: Path, folder: Path, length: float, step_at: float, step_s: float) -> str:
    start = time.monotonic() + 0.5
    clock = SteppedClock(start + step_at, step_s)
    old_start: list[datetime] = []

    def on_event(event: PlayerEvent) -> None:
        if isinstance(event, AudioStarted):  # what the runner did on the event
            old_start.append(mono_to_wall(clock, event.first_frame_mono))

    player = Player(FileOutput(folder), FMT, ClipDecoder(FMT), clock, on_event)
    total = round(length * FMT.sample_rate)
    player.start(Program((clip,), 0.2, start, total, 4800, label="step"))
    result = player.wait(timeout=length + 10)
    assert result is not None and result.last_frame_mono is not None and old_start
    old_end = mono_to_wall(clock, result.last_frame_mono)  # converted after the step
    old_len = (old_end - old_start[0]).total_seconds()
    assert result.audio_end_wall is not None and result.first_frame_wall is not None
    new_len = (result.audio_end_wall - result.first_frame_wall).total_seconds()
    when = "before the start" if step_at < 0 else f"{step_at:.1f} s into it"
    return (
        f"  step {step_s:+6.1f} s {when:<18} length by old conversion {old_len:8.3f} s,"
        f" by frames {new_len:.3f} s (planned {length} s)"
    )


async def detect(step_s: float) -> float:
    clock = SteppedClock(float("inf"), step_s)
    seen: list[ClockStep] = []
    waker = Waker(ZoneInfo("Asia/Shanghai"), clock=clock)
    waker.on_clock_step(seen.append)
    waker.start()
    await asyncio.sleep(0.3)
    clock.at = time.monotonic()
    while not seen:
        await asyncio.sleep(0.01)
    waker.shutdown()
    return time.monotonic() - clock.at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--length", type=float, default=3.0, help="airing length, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clock-step-") as tmp:
        clip = Path(tmp) / "tone.wav"
        subprocess.run(
            [find_ffmpeg(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
             "sine=frequency=440:duration=1:sample_rate=48000", str(clip)],
            check=True,
        )  # fmt: skip
        print(f"player, {args.length} s airings on a file output, injected wall clock:")
        for step_at, step_s in ((-0.3, 8.0), (1.0, 90.0), (1.0, -90.0)):
            print(air(clip, Path(tmp), args.length, step_at, step_s))
    for step_s in (8.0, -90.0):
        latency = asyncio.run(detect(step_s))
        print(f"waker: a {step_s:+.0f} s step reported after {latency * 1000:.0f} ms (poll 1 s)")


if __name__ == "__main__":
    main()
