"""What metering costs the player: CPU per second of audio for the 20 ms blocks of a 30-minute
slot (48 kHz stereo), with the level watch (peak, RMS, dead air, clipping) and without it (the
envelope the player applies to every block anyway, as the baseline measured in the same run).

    .venv/bin/python bench/meter_cost.py [--runs 5] [--minutes 30]

Prints the median over runs of CPU seconds per audio second, as per cent of one core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.playout.envelope import Envelope
from controller.playout.meter import LevelWatch

RATE, BLOCK = 48000, 960


def blocks(n: int) -> list[bytes]:
    """Speech-like blocks: a tone under a slow envelope, with pauses (some silent)."""
    t = np.arange(BLOCK) / RATE
    out = []
    for i in range(n):
        level = 0 if (i // 50) % 7 == 6 else 8000 * (0.5 + 0.5 * np.sin(i / 13))
        mono = (np.sin(2 * np.pi * 220 * t) * level).astype("<i2")
        out.append(np.repeat(mono, 2).tobytes())
    return out


def cpu_per_audio_s(pcm: list[bytes], meter: bool) -> float:
    env = Envelope(2)
    env.add(len(pcm) * BLOCK - RATE, 1.0, len(pcm) * BLOCK)
    watch = LevelWatch(RATE, 10.0)
    begin = time.process_time()
    for i, raw in enumerate(pcm):
        out = env.apply(raw, i * BLOCK)
        if meter:
            watch.feed(out, i * BLOCK, BLOCK, False)
    return (time.process_time() - begin) / (len(pcm) * BLOCK / RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    distinct = blocks(700)  # cycled: building 90,000 blocks would measure numpy, not us
    n = round(args.minutes * 60 * RATE / BLOCK)
    pcm = [distinct[i % len(distinct)] for i in range(n)]
    base, metered = [], []
    for _ in range(args.runs):
        base.append(cpu_per_audio_s(pcm, meter=False))
        metered.append(cpu_per_audio_s(pcm, meter=True))
    b, m = statistics.median(base), statistics.median(metered)
    print(f"blocks: {n} of {BLOCK} frames ({args.minutes:g} min, 48 kHz stereo), runs {args.runs}")
    print(f"without metering: {b * 100:.3f} % of a core (envelope only)")
    print(f"with metering:    {m * 100:.3f} % of a core")
    print(f"metering adds:    {(m - b) * 100:.3f} % of a core ({m / b:.2f}x the baseline)")


if __name__ == "__main__":
    main()
