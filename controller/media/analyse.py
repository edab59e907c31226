"""ffmpeg plumbing for ingest: run one ffmpeg into another, read what they report."""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

RATE = 48000  # the player's format (drivers/audio/base.py PcmFormat): 48 kHz stereo s16
CHANNELS = 2
CHUNK = 1 << 20  # copy and hash block
# Only these demuxers may open an upload: playlist demuxers (hls, concat) would open other
# files or URLs named inside it. "mov" covers mp4/m4a/3gp.
DEMUXERS = "mp3,wav,w64,mov,aac,ogg,flac,amr,amrnb,amrwb,matroska,aiff"
# Silence for trimming: below this level for at least SILENCE_MIN_S.
SILENCE_DB = -55.0
SILENCE_MIN_S = 0.3
TP_SHIFT_DB = 20  # see measure_argv


class IngestError(Exception):
    """An upload the library refuses; operators read `reason_zh`, logs `reason_en`."""

    def __init__(self, reason_zh: str, reason_en: str, http_status: int = 422) -> None:
        super().__init__(f"{reason_zh} / {reason_en}")
        self.reason_zh = reason_zh
        self.reason_en = reason_en
        self.http_status = http_status


@dataclass(frozen=True)
class Loudness:
    lufs: float  # integrated (BS.1770), -70.0 when everything is gated out
    threshold: float  # the relative gate loudnorm wants as measured_thresh
    lra: float
    peak: float  # true peak, dBTP (about -70 for digital silence)


@dataclass(frozen=True)
class Piped:
    """What one `producer | consumer` run of ffmpeg left behind."""

    rc: int
    log: str
    consumer_rc: int
    consumer_log: str
    timed_out: bool


def decode_argv(
    ffmpeg: str, src: str, chain: str, outputs: Sequence[str], *, progress_file: str | None = None
) -> list[str]:
    """ffmpeg decoding the first audio stream of `src` through `chain`, labelled [out...]."""
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info"]
    if progress_file is not None:
        argv += ["-progress", f"file:{progress_file}"]
    # -xerror: the first decode error ends the run (a corrupt file is rejected anyway);
    # file: keeps a name like "concat:x" a plain file
    argv += ["-xerror", "-format_whitelist", DEMUXERS, "-i", f"file:{src}"]
    return [*argv, "-filter_complex", f"[0:a:0]{chain}", *outputs]


def measure_argv(ffmpeg: str, in_fmt: str, *, silences: bool = False) -> list[str]:
    """ffmpeg measuring raw 48 kHz stereo PCM on stdin: loudness, true peak, maybe silences.

    True peak is the sample peak of the signal upsampled 4x (BS.1770-4's method), taken by
    volumedetect after a -20 dB shift (it counts in s16, so overs must not clip). This is
    about twice as fast as ebur128=peak=true and agrees with it to 0.1 dB.
    """
    chain = "ebur128=framelog=verbose"
    if silences:
        chain += f",silencedetect=n={SILENCE_DB}dB:d={SILENCE_MIN_S}"
    chain += f",volume=-{TP_SHIFT_DB}dB,aresample={4 * RATE}:filter_size=16,volumedetect"
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info",
        "-f", in_fmt, "-ar", str(RATE), "-ch_layout", "stereo", "-i", "pipe:0",
        "-af", chain, "-f", "null", "-",
    ]  # fmt: skip


def to_player_format(sample_fmt: str) -> str:
    """The filter prefix both passes share, so frame counts and trim points agree."""
    return (
        f"aformat=sample_fmts={sample_fmt}:sample_rates={RATE}:channel_layouts=stereo,"
        "asetpts=N/SR/TB"
    )


def run_pair(
    producer: Sequence[str],
    consumer: Sequence[str],
    *,
    poll: Callable[[], None] = lambda: None,
    timeout_s: float = 3600.0,
) -> Piped:
    """Run `producer | consumer` (an OS pipe: no PCM passes through Python), polling meanwhile.

    The two run on two cores; stderr goes to files so a chatty ffmpeg never stalls.
    """
    with tempfile.TemporaryFile() as perr, tempfile.TemporaryFile() as cerr:
        prod = subprocess.Popen(
            producer, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=perr,
            start_new_session=True,
        )  # fmt: skip
        try:
            cons = subprocess.Popen(
                consumer, stdin=prod.stdout, stdout=subprocess.DEVNULL, stderr=cerr,
                start_new_session=True,
            )  # fmt: skip
        except BaseException:
            _end(prod, kill=True)
            raise
        finally:
            assert prod.stdout is not None
            prod.stdout.close()  # the consumer holds the pipe now
        deadline, timed_out, ok = time.monotonic() + timeout_s, False, False
        try:
            while True:
                try:
                    cons.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    poll()
                    if time.monotonic() > deadline:
                        timed_out = True
                        break
            ok = True
        finally:
            crc = _end(cons, kill=not ok or timed_out)
            rc = _end(prod, kill=not ok or timed_out, grace_s=5.0)
        return Piped(rc, _text(perr), crc, _text(cerr), timed_out)


def _end(proc: subprocess.Popen[bytes], *, kill: bool, grace_s: float = 0.0) -> int:
    if not kill:
        try:
            return proc.wait(timeout=grace_s or None)
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    return proc.wait()


def _text(f: IO[bytes]) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


_NUM = r"(-?(?:\d+(?:\.\d+)?|inf))"


def parse_loudness(log: str) -> Loudness:
    """What measure_argv's ffmpeg found: the ebur128 summary and volumedetect's peak."""
    _, sep, summary = log.rpartition("Summary:")
    values: dict[str, float] = {}
    for key, pattern in (
        ("lufs", rf"\bI:\s+{_NUM} LUFS"),
        ("threshold", rf"Threshold:\s+{_NUM} LUFS"),  # the first one: integrated's gate
        ("lra", rf"LRA:\s+{_NUM} LU\b"),
        ("peak", rf"max_volume: {_NUM} dB"),
    ):
        found = re.search(pattern, log if key == "peak" else summary)
        if not sep or found is None:
            raise ValueError(f"no {key} in ffmpeg's measurement: {log[-300:]!r}")
        values[key] = float(found.group(1))
    values["peak"] = round(values["peak"] + TP_SHIFT_DB, 2)
    return Loudness(**values)


def parse_silences(log: str) -> list[tuple[float, float | None]]:
    """silencedetect's (start, end) periods in seconds; end None if it ran to the end."""
    periods: list[tuple[float, float | None]] = []
    for line in log.splitlines():
        if (m := re.search(r"silence_start: (-?[\d.e+-]+)", line)) is not None:
            periods.append((max(0.0, float(m.group(1))), None))
        elif (m := re.search(r"silence_end: (-?[\d.e+-]+)", line)) is not None and periods:
            periods[-1] = (periods[-1][0], float(m.group(1)))
    return periods


@dataclass(frozen=True)
class InputInfo:
    container: str  # ffmpeg's demuxer name, e.g. "mp3" or "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str  # the first audio stream's codec, "" if none
    claimed_s: float | None  # the header's duration; None when unknown or estimated


def parse_input(log: str) -> InputInfo | None:
    """What ffmpeg opened, from its "Input #0" block; None if it could not open the file."""
    head = log.split("Stream mapping:")[0]
    found = re.search(r"^(?:\[info\] )?Input #0, (.+?), from ", head, re.M)
    if found is None:
        return None
    duration = re.search(r"^(?:\[info\] )? {2}Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", head, re.M)
    claimed = None
    if duration is not None and "Estimating duration from bitrate" not in head:
        h, m, s = duration.groups()
        claimed = int(h) * 3600 + int(m) * 60 + float(s)
    codec = re.search(r"Stream #0:\d+.*?: Audio: ([\w-]+)", head)
    return InputInfo(found.group(1), codec.group(1) if codec else "", claimed)


def error_lines(log: str) -> list[str]:
    """ffmpeg's error and fatal lines, without the noise of its context prefixes."""
    lines = (line for line in log.splitlines() if "[error]" in line or "[fatal]" in line)
    return [re.sub(r"^(\[[^\]]*\] )+", "", line).strip() for line in lines]


def wav_header_seconds(path: str) -> float | None:
    """The duration a RIFF/WAVE header's data chunk claims (ffmpeg clamps it to the file)."""
    with open(path, "rb") as f:
        head = f.read(65536)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        chunk, length = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt " and pos + 20 <= len(head):
            byte_rate = int.from_bytes(head[pos + 16 : pos + 20], "little")
        if chunk == b"data":
            # 0 and 0xFFFFFFFF: written by a streaming recorder that never went back
            unknown = length in (0, 0xFFFFFFFF) or byte_rate == 0
            return None if unknown else length / byte_rate
        pos += 8 + length + (length & 1)
    return None


def written(progress_file: Path) -> int:
    """Bytes ffmpeg has written to its output so far, from its -progress report."""
    try:
        text = progress_file.read_bytes()
    except FileNotFoundError:  # not created yet
        return 0
    sizes = re.findall(rb"^total_size=(\d+)", text, re.M)
    return int(sizes[-1]) if sizes else 0


def db(value: float) -> str:
    """A level for messages: '-inf' stays readable."""
    return "-inf" if math.isinf(value) else f"{value:.1f}"
