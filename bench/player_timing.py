"""Player timing bench: start error and length error per output, and ffmpeg start-up time."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from media_files import sine

from controller.core.clock import SystemClock
from controller.playout.decode import ClipDecoder
from controller.playout.player import Player, PlayerEvent, Program
from drivers.audio.base import AudioOutput, PcmFormat
from drivers.audio.file import FileOutput
from drivers.audio.null import NullOutput

FMT = PcmFormat(48000, 2)


def make_clips(folder: Path) -> list[Path]:
    clips = []
    for name, freq in (("a.wav", 440), ("b.mp3", 660)):
        clips.append(folder / name)
        sine(folder / name, freq, 0.4, 44100)
    return clips


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return (
        f"  {name:<14} p50 {statistics.median(ms):7.2f} ms   p99 {pct(ms, 0.99):7.2f} ms   "
        f"max {max(ms, key=abs):7.2f} ms"
    )


def run_output(
    name: str, make: Callable[[], AudioOutput], clips: list[Path], runs: int, length_s: float
) -> None:
    starts, lengths = [], []
    decoder = ClipDecoder(FMT)
    total = round(length_s * FMT.sample_rate)

    def ignore(_: PlayerEvent) -> None:
        return None

    for i in range(runs):
        player = Player(make(), FMT, decoder, SystemClock(), ignore)
        start = time.monotonic() + 0.5
        player.start(Program(tuple(clips), 0.1, start, total, 4800, label=f"bench-{i}"))
        result = player.wait(timeout=length_s + 10)
        if result is None or result.first_frame_mono is None or result.last_frame_mono is None:
            raise SystemExit(f"{name}: run {i} did not air: {result}")
        if result.frames_written != total:
            raise SystemExit(f"{name}: run {i} wrote {result.frames_written} of {total} frames")
        starts.append(result.first_frame_mono - start)
        lengths.append(result.last_frame_mono - result.first_frame_mono - length_s)
    print(f"{name}: {runs} programs of {length_s} s, scheduled 0.5 s ahead")
    print(summary("start error", starts))
    print(summary("length error", lengths))


def decoder_startup(clips: list[Path], runs: int) -> None:
    decoder = ClipDecoder(FMT)
    for clip in clips:
        times = []
        for _ in range(runs):
            with decoder.open(clip) as stream:
                next(stream)
                assert stream.first_block_s is not None
                times.append(stream.first_block_s)
        print(
            f"decoder spawn → first block ({clip.suffix[1:]}, {decoder.ffmpeg}): "
            f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="programs per output")
    parser.add_argument("--length", type=float, default=1.5, help="program length, seconds")
    parser.add_argument(
        "--alsa-null", action="store_true", help="also time the sound-card output (NULL backend)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="player-bench-") as tmp:
        clips = make_clips(Path(tmp))
        decoder_startup(clips, args.runs)
        run_output("NullOutput", NullOutput, clips, args.runs, args.length)
        aircheck = Path(tmp) / "aircheck"
        run_output("FileOutput", lambda: FileOutput(aircheck), clips, args.runs, args.length)
        if args.alsa_null:
            from drivers.audio.alsa import AlsaOutput

            def alsa() -> AudioOutput:
                return AlsaOutput(backend="null")

            run_output("AlsaOutput(null)", alsa, clips, args.runs, args.length)


if __name__ == "__main__":
    main()
