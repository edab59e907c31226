"""Pass 2 of ingest: gain to the house loudness under the true-peak ceiling, as 48 kHz WAV."""

from __future__ import annotations

import contextlib
import os
import re
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controller.config.models import MediaConfig
from controller.media.analyse import (
    RATE,
    IngestError,
    Loudness,
    decode_argv,
    error_lines,
    measure_argv,
    parse_loudness,
    run_pair,
    to_player_format,
)

TOLERANCE_LU = 0.3  # a render this close to the target (and under the ceiling) is kept
LIMIT_MARGIN_DB = 0.3  # the sample-peak limiter sits this far under the true-peak ceiling
ATTEMPTS = 3  # renders before falling back to loudnorm's dynamic mode, which always lands


@dataclass(frozen=True)
class Rendered:
    loud: Loudness  # measured on the written output
    frames: int
    log: str


class Renderer:
    """Decode, trim, apply a gain stage, write 48 kHz stereo s16 WAV and measure it at once.

    ffmpeg writes the WAV and pipes the same PCM to a second ffmpeg that measures it, so the
    output is measured without a second pass and the two use both cores.
    """

    def __init__(
        self, ffmpeg: str, src: Path, dest: Path, start: int, end: int,
        progress: Callable[[float], None],
    ) -> None:  # fmt: skip
        self.ffmpeg, self.src, self.dest = ffmpeg, src, dest
        self.start, self.end = start, end
        self.progress = progress

    def __call__(self, stage: str) -> Rendered:
        chain = (
            f"{to_player_format('flt')},atrim=start_sample={self.start}:end_sample={self.end},"
            f"asetpts=N/SR/TB,{stage},"
            f"aformat=sample_fmts=s16:sample_rates={RATE}:channel_layouts=stereo,"
            "asplit=2[file][pipe]"
        )
        outputs = [
            "-map", "[file]", "-map_metadata", "-1", "-fflags", "+bitexact",
            "-flags:a", "+bitexact", "-c:a", "pcm_s16le", "-f", "wav", "-y", f"file:{self.dest}",
            "-map", "[pipe]", "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1",
        ]  # fmt: skip
        want = 4 * (self.end - self.start)

        def poll() -> None:
            with contextlib.suppress(FileNotFoundError):
                self.progress(0.45 + 0.5 * min(1.0, self.dest.stat().st_size / want))

        piped = run_pair(
            decode_argv(self.ffmpeg, str(self.src), chain, outputs),
            measure_argv(self.ffmpeg, "s16le"),
            poll=poll,
            timeout_s=120 + (self.end - self.start) / RATE / 2,
        )
        errors = error_lines(piped.log)
        if piped.rc != 0 or piped.timed_out or errors:
            why = errors[0] if errors else f"ffmpeg exit status {piped.rc}"
            raise IngestError("音频处理失败", f"normalisation failed: {why}")
        if piped.consumer_rc != 0:
            raise RuntimeError(f"ffmpeg measurement failed: {piped.consumer_log[-500:]}")
        with self.dest.open("rb") as f:
            os.fsync(f.fileno())
            with wave.open(f) as wav:
                frames = wav.getnframes()
        return Rendered(parse_loudness(piped.consumer_log), frames, piped.log)


def normalise(render: Renderer, loud: Loudness, cfg: MediaConfig) -> tuple[Rendered, str]:
    """Gain to the target: linear (loudnorm) when the ceiling allows, else gain + limiter.

    The output is measured every time and the gain corrected (secant) until it lands: the
    input's loudness counts the edges of silence that trimming removed, and the limiter
    costs loudness. loudnorm's dynamic mode is the last resort: it always lands, but it
    works at 192 kHz (four times slower) and reshapes the dynamics of the speech.
    """
    target, ceiling = cfg.target_lufs, cfg.true_peak_db
    tp = max(ceiling, -9.0)  # loudnorm's range; our own checks use the real ceiling
    lra = min(max(loud.lra, 0.1), 50.0)  # an LRA of 0 (a steady tone) disables linear mode
    measured = f"measured_TP={loud.peak}:measured_thresh={loud.threshold}:measured_LRA={lra}"
    excess = max(0.0, loud.peak + target - loud.lufs - ceiling)  # dB the limiter must take
    aim = target - loud.lufs + 0.15 * excess + 0.02 * excess**2  # limiter loss, fitted on speech
    limit_db = ceiling - LIMIT_MARGIN_DB
    must_limit = False
    tried: list[tuple[float, float]] = []
    for _ in range(ATTEMPTS):
        if not must_limit and loud.peak + aim <= ceiling:
            # loudnorm's linear offset is target - measured_I: aim it through measured_I
            out = render(
                f"loudnorm=I={target}:TP={tp}:LRA=50:measured_I={target - aim:.3f}:{measured}:"
                "linear=true:print_format=json"
            )
            found = re.search(r'"normalization_type" : "(\w+)"', out.log)
            kind, slope = (found.group(1) if found else "linear"), 1.0
        else:
            limiter = f"alimiter=limit={10 ** (limit_db / 20):.5f}:level=false:attack=2:release=20"
            out = render(f"volume={aim:.3f}dB,{limiter}:latency=true")
            kind, slope = "limited", 1 - (0.15 + 0.04 * excess)
        if abs(out.loud.lufs - target) <= TOLERANCE_LU and out.loud.peak <= ceiling:
            return out, kind
        if out.loud.peak > ceiling:
            must_limit = True
            limit_db -= out.loud.peak - ceiling
        tried.append((aim, out.loud.lufs))
        if len(tried) >= 2 and tried[-1][0] != tried[-2][0]:
            (g0, l0), (g1, l1) = tried[-2:]
            slope = (l1 - l0) / (g1 - g0)
        aim += (target - out.loud.lufs) / min(1.0, max(0.2, slope))
    lra_target = min(max(loud.lra + 1, 7.0), 50.0)
    out = render(
        f"loudnorm=I={target}:TP={tp}:LRA={lra_target}:measured_I={loud.lufs}:{measured}:"
        "linear=false"
    )
    return out, "dynamic"
