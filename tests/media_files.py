"""Test audio made on the spot: espeak-ng Mandarin speech, ffmpeg tones, broken files.

Reusable by any suite: every generator writes one file and returns its path; the format
comes from the file name's extension (see FORMATS). `measure` is an independent check of
loudness (ffmpeg's ebur128 filter, parsed here, not with the code under test).
"""

from __future__ import annotations

import functools
import math
import random
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from controller.playout.decode import find_ffmpeg

SPEECH = "陌生来电要求转账汇款的，一律是诈骗。"

# Encoder arguments per extension: what phones and editing tools produce.
FORMATS: dict[str, list[str]] = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "aac": ["-c:a", "aac", "-b:a", "64k", "-f", "adts"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    "opus": ["-c:a", "libopus", "-b:a", "32k"],
    "flac": ["-c:a", "flac"],
    "wav": ["-c:a", "pcm_s16le"],
    "amr": ["-c:a", "libopencore_amrnb", "-ar", "8000", "-ac", "1", "-b:a", "12.2k"],
}


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly, overwriting outputs; raises on failure."""
    argv = [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    subprocess.run(argv, check=True)


def sine(path: Path, freq: float, seconds: float, rate: int = 48000) -> Path:
    """A plain sine (ffmpeg's own level) in the format `path`'s extension says."""
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}:sample_rate={rate}",
           str(path))  # fmt: skip
    return path


@functools.cache
def has_encoder(name: str) -> bool:
    out = subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    return re.search(rf"^\s*A\S*\s+{re.escape(name)}\s", out, re.M) is not None


def missing_encoder(ext: str) -> str | None:
    """Why this ffmpeg cannot write `ext`, or None if it can."""
    codec = FORMATS[ext][1]
    return None if has_encoder(codec) else f"this ffmpeg has no {codec} encoder for .{ext}"


def has_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def speech_wav(path: Path, text: str = SPEECH, *, speed: int = 160) -> Path:
    """Mandarin speech from espeak-ng (22.05 kHz mono WAV)."""
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", str(speed), "-w", str(path), text], check=True)
    return path


def encode(src: Path, dst: Path) -> Path:
    """`src` re-encoded in the format `dst`'s extension names."""
    ffmpeg("-i", str(src), "-map_metadata", "-1", *FORMATS[dst.suffix[1:]], str(dst))
    return dst


def tone(
    path: Path, *, freq: float = 440.0, seconds: float = 3.0, level_db: float = -20.0,
    rate: int = 44100, channels: int = 1,
) -> Path:  # fmt: skip
    """A sine at `level_db` dBFS peak, in the format of `path`'s extension."""
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate={rate}:duration={seconds}",
        "-af", f"volume={level_db + 20 * math.log10(8):.3f}dB",  # sine's source peak is 1/8
        "-ac", str(channels), *FORMATS[path.suffix[1:]], str(path),
    )  # fmt: skip
    return path


def silence(path: Path, seconds: float, *, rate: int = 44100) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"anullsrc=r={rate}:cl=mono:d={seconds}",
           *FORMATS[path.suffix[1:]], str(path))  # fmt: skip
    return path


def padded(src: Path, dst: Path, *, lead_s: float, tail_s: float) -> Path:
    """`src` with digital silence before and after."""
    ms = round(lead_s * 1000)
    ffmpeg("-i", str(src), "-af", f"adelay={ms}:all=1,apad=pad_dur={tail_s}",
           *FORMATS[dst.suffix[1:]], str(dst))  # fmt: skip
    return dst


def louder(src: Path, dst: Path, *, peak_db: float) -> Path:
    """`src` with its sample peak raised or lowered to `peak_db` dBFS."""
    found = subprocess.run(
        [find_ffmpeg(), "-nostdin", "-hide_banner", "-i", str(src), "-af", "volumedetect",
         "-f", "null", "-"], capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    peak = float(re.findall(r"max_volume: (-?[\d.]+) dB", found)[-1])
    ffmpeg("-i", str(src), "-af", f"volume={peak_db - peak:.2f}dB", *FORMATS[dst.suffix[1:]],
           str(dst))  # fmt: skip
    return dst


def truncated(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    """The first `fraction` of `src`'s bytes: an upload cut off half way."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def random_bytes(path: Path, size: int = 64 * 1024, seed: int = 3) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def wav_claiming(path: Path, claimed_s: float, *, body_s: float = 1.0, rate: int = 8000) -> Path:
    """A mono s16 WAV whose header claims `claimed_s` of audio; only `body_s` follow it."""
    claimed, body = int(claimed_s * rate) * 2, int(body_s * rate)
    samples = [round(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(body)]
    header = b"RIFF" + struct.pack("<I", 36 + claimed) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", claimed)
    path.write_bytes(header + struct.pack(f"<{body}h", *samples))
    return path


def amr_without_speech(path: Path, frames: int = 250) -> Path:
    """An AMR-NB file (found by content) whose frames carry no speech data ffmpeg decodes."""
    path.write_bytes(b"#!AMR\n" + bytes([0x7C]) * frames)  # frame type 15: NO_DATA
    return path


def video_only(path: Path) -> Path:
    """An MP4 with a picture and no sound."""
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:d=2", "-c:v", "mpeg4", str(path))
    return path


@dataclass(frozen=True)
class Measured:
    lufs: float
    true_peak: float  # dBTP


def measure(path: Path) -> Measured:
    """Integrated loudness and true peak by ffmpeg's ebur128 filter (an independent check)."""
    log = subprocess.run(
        [find_ffmpeg(), "-nostdin", "-hide_banner", "-nostats", "-i", str(path),
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = log[log.rindex("Summary:") :]
    lufs = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert lufs is not None and peak is not None, summary
    return Measured(float(lufs.group(1)), float(peak.group(1)))
