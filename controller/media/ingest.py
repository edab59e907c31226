"""One upload through ingest: size and hash, decode and check, trim, stage the files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controller.config.models import MediaConfig
from controller.media.analyse import (
    CHANNELS,
    CHUNK,
    RATE,
    IngestError,
    InputInfo,
    Loudness,
    db,
    decode_argv,
    error_lines,
    measure_argv,
    parse_input,
    parse_loudness,
    parse_silences,
    run_pair,
    to_player_format,
    wav_header_seconds,
    written,
)
from controller.media.normalise import Renderer, normalise

TRIM_PAD_S = 0.1  # silence kept before the first and after the last sound
# A header may claim at most this many seconds per byte of file: 300 B/s is below any real
# codec (AMR-NB at 4.75 kbit/s is ~600 B/s), so more means a forged or damaged header.
MIN_BYTES_PER_S = 300
_EXTENSIONS = {"mov": "m4a", "matroska": "mka", "amrnb": "amr", "amrwb": "amr"}


@dataclass(frozen=True)
class Staged:
    """A checked, normalised upload in its staging folder, ready to be published."""

    original: Path
    normalised: Path
    duration_s: float
    loudness_in: Loudness
    loudness_out: Loudness
    normalisation: str  # "linear", "limited" (gain + peak limiter) or "dynamic" (loudnorm)


def upload_limit_bytes(cfg: MediaConfig) -> int:
    """media.max_upload_mb in bytes (MiB), for the API to stop a body early."""
    return int(cfg.max_upload_mb * 1024 * 1024)


def _too_large(size: int, cfg: MediaConfig) -> IngestError:
    mb = size / 1024 / 1024
    return IngestError(
        f"文件太大（{mb:.1f} MB），上限 {cfg.max_upload_mb:g} MB",
        f"file too large ({mb:.1f} MB, limit {cfg.max_upload_mb:g} MB)",
        413,
    )


def _empty() -> IngestError:
    return IngestError("文件是空的（0 字节）", "the file is empty (0 bytes)")


def check_size(src: Path, cfg: MediaConfig) -> None:
    size = src.stat().st_size
    if size == 0:
        raise _empty()
    if size > upload_limit_bytes(cfg):
        raise _too_large(size, cfg)


def copy_and_hash(src: Path, dst: Path, cfg: MediaConfig) -> str:
    """Copy `src` to a new file `dst` (fsynced) and return the sha256 of its bytes."""
    digest, size, limit = hashlib.sha256(), 0, upload_limit_bytes(cfg)
    with src.open("rb") as fin, dst.open("xb") as fout:
        while chunk := fin.read(CHUNK):
            size += len(chunk)
            if size > limit:  # the file grew after check_size
                raise _too_large(size, cfg)
            digest.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    if size == 0:
        raise _empty()
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare(
    staging: Path, upload: Path, cfg: MediaConfig, ffmpeg: str, progress: Callable[[float], None]
) -> Staged:
    """Check the copy at `upload`; leave original.<ext> and normalised.wav in `staging`."""
    found = inspect(ffmpeg, upload, cfg, lambda f: progress(0.05 + 0.4 * f))
    progress(0.45)
    start, end = _trim(found, cfg)
    original = staging / f"original.{found.ext}"
    os.replace(upload, original)
    render = Renderer(ffmpeg, original, staging / "normalised.wav.tmp", start, end, progress)
    out, kind = normalise(render, found.loudness, cfg)
    normalised = staging / "normalised.wav"
    os.replace(render.dest, normalised)
    fsync_dir(staging)
    return Staged(original, normalised, out.frames / RATE, found.loudness, out.loud, kind)


@dataclass(frozen=True)
class Inspection:
    info: InputInfo
    frames: int  # decoded, at 48 kHz
    loudness: Loudness  # of the audio as the player will play it (48 kHz stereo)
    silences: list[tuple[float, float | None]]

    @property
    def ext(self) -> str:
        """The kept original's extension, from its content (never from the upload's name)."""
        if self.info.codec == "opus":
            return "opus"
        first = self.info.container.split(",")[0]
        return _EXTENSIONS.get(first, first)


def inspect(
    ffmpeg: str, path: Path, cfg: MediaConfig, progress: Callable[[float], None]
) -> Inspection:
    """Pass 1: decode all of `path`, measure it; reject what is not sound, complete audio."""
    size = path.stat().st_size
    cap_s = cfg.max_s * 1.5 + 60  # bounds the work a forged or endless stream can cause
    guess_s = max(1.0, size / 16000)  # as if 128 kbit/s: only for the progress bar
    out = ["-map", "[out]", "-t", f"{cap_s:.3f}", "-f", "f32le", "pipe:1"]
    report = path.with_name("progress")  # ffmpeg's -progress: how many bytes it wrote
    try:
        piped = run_pair(
            decode_argv(ffmpeg, str(path), f"{to_player_format('flt')}[out]", out,
                        progress_file=str(report)),
            measure_argv(ffmpeg, "f32le", silences=True),
            poll=lambda: progress(min(1.0, written(report) / (8 * RATE * guess_s))),
            timeout_s=120 + cap_s / 2,
        )  # fmt: skip
        frames = written(report) // (4 * CHANNELS)
    finally:
        report.unlink(missing_ok=True)
    if piped.timed_out:
        raise IngestError("解码超时，文件可能已损坏", "decoding timed out")
    errors = [e.replace(f"file:{path}", "upload") for e in error_lines(piped.log)]
    info = parse_input(piped.log)
    if info is None:
        why = errors[0] if errors else "unknown format"
        raise IngestError("不是可识别的音频文件", f"not an audio file ({why})", 415)
    if not info.codec or any("matches no streams" in e for e in errors):
        raise IngestError("文件里没有音频", "the file has no audio stream", 415)
    if any(e.startswith("Decoder (codec") for e in errors):
        raise IngestError("不支持这种音频编码", f"unsupported codec {info.codec}", 415)
    claimed = wav_header_seconds(str(path)) if info.container == "wav" else info.claimed_s
    if claimed is not None and claimed * MIN_BYTES_PER_S > 2 * size + 65536:
        raise IngestError(
            f"文件头声称有 {claimed / 3600:.1f} 小时音频，但文件只有 {size} 字节：文件已损坏",
            f"the header claims {claimed:.0f} s of audio in a {size}-byte file",
        )
    decoded = frames / RATE
    if (
        frames
        and claimed is not None
        and decoded < min(claimed - max(0.5, 0.02 * claimed), cap_s - 1)
    ):
        raise IngestError(
            f"音频文件不完整：只解码出 {decoded:.1f} 秒，文件头声称 {claimed:.1f} 秒",
            f"truncated: decoded {decoded:.1f} s of the {claimed:.1f} s the header claims",
        )
    if piped.rc != 0 or errors:
        why = errors[0] if errors else f"ffmpeg exit status {piped.rc}"
        raise IngestError("音频文件已损坏，无法完整解码", f"corrupt audio: {why}")
    if frames == 0:
        raise IngestError("文件里没有可播放的音频（长度为零）", "no audio decoded (zero length)")
    if piped.consumer_rc != 0:
        raise RuntimeError(f"ffmpeg measurement failed: {piped.consumer_log[-500:]}")
    loudness = parse_loudness(piped.consumer_log)
    return Inspection(info, frames, loudness, parse_silences(piped.consumer_log))


def _trim(found: Inspection, cfg: MediaConfig) -> tuple[int, int]:
    """Frames [start, end) without leading and trailing silence; rejects silent, short, long."""
    loud = found.loudness
    if loud.lufs <= -70.0 or loud.peak < -60.0:
        raise IngestError(
            f"音频是静音的（响度 {db(loud.lufs)} LUFS，峰值 {db(loud.peak)} dBTP）",
            f"the audio is silent ({db(loud.lufs)} LUFS, peak {db(loud.peak)} dBTP)",
        )
    begin, end = 0.0, found.frames / RATE
    silences = found.silences
    if silences and silences[0][0] <= 0.01 and silences[0][1] is not None:
        begin = max(0.0, silences[0][1] - TRIM_PAD_S)
    last = silences[-1] if silences else None
    if last is not None and (last[1] is None or last[1] >= end - 0.01) and last[0] > begin:
        end = min(end, last[0] + TRIM_PAD_S)
    length = end - begin
    if length < cfg.min_s:
        raise IngestError(
            f"去掉首尾静音后只有 {length:.1f} 秒，至少需要 {cfg.min_s:g} 秒",
            f"too short: {length:.1f} s after trimming silence (minimum {cfg.min_s:g} s)",
        )
    if length > cfg.max_s:
        raise IngestError(
            f"音频太长：{length:.0f} 秒，上限 {cfg.max_s:g} 秒",
            f"too long: {length:.0f} s (maximum {cfg.max_s:g} s)",
        )
    return round(begin * RATE), round(end * RATE)
