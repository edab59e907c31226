"""Air-check storage bench: size per 30-minute slot as WAV (before) and FLAC (now), the CPU
cost of encoding (per cent of one core, median of runs), the longest `write` the player waits
for at air pace, and the two FLAC encoders weighed (libsndfile in-process, the one FileOutput
uses, against ffmpeg fed PCM on stdin), with what a kill -9 leaves of each.

    .venv/bin/python bench/aircheck_storage.py [--runs 5] [--paced-s 60] [--clip PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.playout.decode import find_ffmpeg
from controller.playout.realtime import promote_current_thread
from drivers.audio.base import PcmFormat
from drivers.audio.file import FileOutput

ROOT = Path(__file__).resolve().parent.parent
FMT = PcmFormat(48000, 2)
BLOCK = 960 * FMT.frame_bytes  # the player's 20 ms blocks
SLOT_S = 1800.0
SAMPLE = ROOT / "audio" / "sample" / "反诈提醒.mp3"
FFMPEG = find_ffmpeg()


def programme(clip: Path, gap_s: float) -> bytes:
    """One loop of what airs: the clip as the decoder gives it (48 kHz stereo s16le), a gap."""
    pcm = subprocess.run(
        [FFMPEG, "-nostdin", "-v", "error", "-i", str(clip), "-f", "s16le", "-ar", "48000",
         "-ac", "2", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return pcm + bytes(round(gap_s * FMT.sample_rate) * FMT.frame_bytes)


def blocks(loop: bytes, seconds: float) -> Iterator[bytes]:
    doubled, total = loop + loop, round(seconds * FMT.sample_rate) * FMT.frame_bytes
    for done in range(0, total, BLOCK):
        at = done % len(loop)
        yield doubled[at : at + min(BLOCK, total - done)]


class Wav:
    """The air-check writer of before: wave's writeframes, header patched per block."""

    def __init__(self, path: Path) -> None:
        self._raw = path.open("wb")
        self._wav = wave.open(self._raw, "wb")  # noqa: SIM115 (closed in close())
        self._wav.setnchannels(FMT.channels)
        self._wav.setsampwidth(FMT.sample_width)
        self._wav.setframerate(FMT.sample_rate)

    def write(self, pcm: bytes) -> None:
        self._wav.writeframes(pcm)

    def close(self) -> None:
        self._wav.close()
        self._raw.close()


class Flac:
    """FileOutput, the writer now."""

    def __init__(self, path: Path) -> None:
        self._out = FileOutput(path.parent)
        self._out.open(FMT, path.stem)

    def write(self, pcm: bytes) -> None:
        self._out.write(pcm)

    def close(self) -> None:
        self._out.close()


class FfmpegFlac:
    """The alternative weighed: an ffmpeg child encoding PCM fed on its stdin."""

    def __init__(self, path: Path) -> None:
        self._proc = subprocess.Popen(
            [FFMPEG, "-nostdin", "-v", "quiet", "-y", "-f", "s16le", "-ar", "48000", "-ac", "2",
             "-i", "pipe:0", "-c:a", "flac", str(path)],
            stdin=subprocess.PIPE,
        )  # fmt: skip
        assert self._proc.stdin is not None
        self._stdin = self._proc.stdin

    def write(self, pcm: bytes) -> None:
        self._stdin.write(pcm)
        self._stdin.flush()

    def close(self) -> None:
        self._stdin.close()
        self._proc.wait()

    def kill(self) -> None:  # as a kill -9 of the daemon's process group takes its children
        self._proc.kill()
        self._proc.wait()


Writer = Callable[[Path], Wav | Flac | FfmpegFlac]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def encode(make: Writer, folder: Path, loop: bytes, seconds: float) -> tuple[float, int]:
    """(CPU seconds: this process's threads and its children's, bytes on disk) for `seconds`."""
    path = folder / "bench.flac"
    path.unlink(missing_ok=True)
    cpu0, kids0 = time.process_time(), children_cpu()
    writer = make(path)
    for block in blocks(loop, seconds):
        writer.write(block)
    writer.close()
    cpu = time.process_time() - cpu0 + children_cpu() - kids0
    size = path.stat().st_size
    path.unlink()
    return cpu, size


def paced(make: Writer, folder: Path, loop: bytes, seconds: float) -> tuple[list[float], str]:
    """How long each `write` took, blocks handed over at air pace from a thread scheduled as
    the player's is (SCHED_FIFO where allowed; the encoder thread it starts is not)."""
    path = folder / "paced.flac"
    path.unlink(missing_ok=True)
    took: list[float] = []
    got: list[str] = []

    def player() -> None:
        got.append(promote_current_thread())
        writer = make(path)
        began = time.monotonic()
        for n, block in enumerate(blocks(loop, seconds)):
            time.sleep(max(0.0, began + n * 0.02 - time.monotonic()))
            t0 = time.perf_counter()
            writer.write(block)
            took.append(time.perf_counter() - t0)
        writer.close()

    thread = threading.Thread(target=player, name="bench player")
    thread.start()
    thread.join()
    path.unlink()
    return took, got[0]


def ms(values: list[float]) -> str:
    """Median, 99th percentile and the longest, in milliseconds."""
    ordered = sorted(values)
    figures = {
        "median": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }
    return ", ".join(f"{name} {value * 1e3:.3f} ms" for name, value in figures.items())


def decoded_s(path: Path) -> float:
    if not path.exists():
        return -1.0
    pcm = subprocess.run(
        [FFMPEG, "-nostdin", "-v", "quiet", "-i", str(path), "-f", "s16le", "-"],
        capture_output=True,
    ).stdout  # fmt: skip
    return len(pcm) / FMT.frame_bytes / FMT.sample_rate


def killed_file_output(folder: Path, loop: bytes, seconds: float) -> float:
    """A process writing through FileOutput at air pace, SIGKILLed after `seconds`."""
    pcm = folder / "loop.pcm"
    pcm.write_bytes(loop[: round(seconds * FMT.sample_rate) * FMT.frame_bytes])
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from drivers.audio.base import PcmFormat
        from drivers.audio.file import FileOutput
        out = FileOutput(Path({str(folder)!r}))
        out.open(PcmFormat(48000, 2), "killed")
        data, began = Path({str(pcm)!r}).read_bytes(), time.monotonic()
        for n, i in enumerate(range(0, len(data), {BLOCK})):
            time.sleep(max(0.0, began + n * 0.02 - time.monotonic()))
            out.write(data[i : i + {BLOCK}])
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    subprocess.run([sys.executable, "-c", script], check=False)
    seconds_left = decoded_s(folder / "killed.flac")
    (folder / "killed.flac").unlink(missing_ok=True)
    return seconds_left


def killed_ffmpeg(folder: Path, loop: bytes, seconds: float) -> float:
    path = folder / "ffmpeg-killed.flac"
    writer = FfmpegFlac(path)
    began = time.monotonic()
    for n, block in enumerate(blocks(loop, seconds)):
        time.sleep(max(0.0, began + n * 0.02 - time.monotonic()))
        writer.write(block)
    writer.kill()
    seconds_left = decoded_s(path)
    path.unlink(missing_ok=True)
    return seconds_left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="encodings of 30 min per writer")
    parser.add_argument("--paced-s", type=float, default=60.0, help="audio written at air pace")
    parser.add_argument("--clip", type=Path, default=SAMPLE, help="what airs, looped")
    parser.add_argument("--gap-s", type=float, default=2.0, help="silence between loops")
    args = parser.parse_args()
    loop = programme(args.clip, args.gap_s)
    writers: dict[str, Writer] = {
        "WAV (before)": Wav,
        "FLAC, FileOutput (libsndfile)": Flac,
        "FLAC, ffmpeg on stdin": FfmpegFlac,
    }
    print(f"content: {args.clip.name} ({len(loop) / FMT.frame_bytes / 48000:.1f} s with its gap) "
          f"looped, as aired: 48 kHz stereo s16; {os.cpu_count()} cores")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aircheck-bench-") as tmp:
        folder = Path(tmp)
        cpu0 = time.process_time()
        for _ in blocks(loop, SLOT_S):
            pass
        feeding = time.process_time() - cpu0  # slicing the content: not the writer's cost
        print(f"\nper 30-minute slot (median of {args.runs} runs; CPU = % of one core):")
        sizes: dict[str, int] = {}
        for name, make in writers.items():
            runs = [encode(make, folder, loop, SLOT_S) for _ in range(args.runs)]
            sizes[name] = runs[0][1]
            cpu = statistics.median(max(0.0, c - feeding) for c, _ in runs) / SLOT_S * 100
            print(f"  {name:<31} {runs[0][1] / 1e6:7.1f} MB   CPU {cpu:.3f} %")
        wav, flac = sizes["WAV (before)"], sizes["FLAC, FileOutput (libsndfile)"]
        print(f"  FLAC is {wav / flac:.1f}x smaller; 31 days of 3 slots: "
              f"WAV {93 * wav / 1e9:.1f} GB, FLAC {93 * flac / 1e9:.1f} GB")  # fmt: skip
        print(f"\nwrite() at air pace, {args.paced_s:g} s of 20 ms blocks (what the player waits):")
        for name in ("WAV (before)", "FLAC, FileOutput (libsndfile)"):
            took, scheduling = paced(writers[name], folder, loop, args.paced_s)
            print(f"  {name:<31} {ms(took)} ({scheduling})")
        print("\nkill -9 at air pace: seconds that still decode (-1: no file at all)")
        for aired in (3.0, 0.0):
            ours = killed_file_output(folder, loop, aired)
            ffmpeg = killed_ffmpeg(folder, loop, aired)
            print(f"  after {aired:.1f} s: FileOutput's process killed {ours:.3f} s; "
                  f"ffmpeg child killed with the group {ffmpeg:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
