"""Reading air-check recordings (FLAC, or the WAVs of before) as the tests check them.

Decoding goes through ffmpeg, a decoder independent of the libsndfile that wrote the file,
and one that reads a recording cut short by a kill (its header does not know the length).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile

from controller.playout.decode import find_ffmpeg

# libsndfile's frame count for a FLAC whose header does not know its length: a writer killed
# before it finished, or an empty recording (FLAC's header writes 0 for "unknown").
_UNKNOWN = 2**62


def decode(path: Path, channels: int = 2) -> np.ndarray:
    """Every frame in the file, as int16 (frames, channels)."""
    done = subprocess.run(
        [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
         "-f", "s16le", "-c:a", "pcm_s16le", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(done.stdout, dtype=np.int16).reshape(-1, channels)


def frames(path: Path) -> int:
    """The header's frame count; decoded if the header does not know it (a killed writer)."""
    info = soundfile.info(str(path))
    return int(info.frames) if info.frames < _UNKNOWN else len(decode(path, info.channels))
