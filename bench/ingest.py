"""Ingest of a 30-minute stereo 44.1 kHz MP3: speed and peak memory, beside naive pydub.

Run: .venv/bin/python bench/ingest.py [--minutes 30] [--keep DIR]
Prints figures; the goal (issue 3) is >= 100x real time and <= 150 MB peak RSS. Each
pipeline runs in its own child process, so its getrusage figures are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXT = (
    "各位村民请注意，这里是镇广电站反诈提醒。公检法机关不会通过电话办案，"
    "不会要求您把钱转到所谓的安全账户。陌生来电要求转账汇款的，一律是诈骗。"
    "接到可疑电话，请先挂断，再拨打反诈专线九六一一零咨询。"
)


def make_mp3(folder: Path, minutes: float) -> Path:
    """espeak-ng Mandarin speech, looped to length, stereo 44.1 kHz, libmp3lame 128k."""
    speech, out = folder / "speech.wav", folder / f"speech-{minutes:g}min.mp3"
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", "140", "-w", str(speech), TEXT], check=True)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-stream_loop", "-1",
         "-i", str(speech), "-t", str(minutes * 60),
         "-af", "aresample=44100,pan=stereo|c0=c0|c1=0.9*c0", "-c:a", "libmp3lame",
         "-b:a", "128k", str(out)],
        check=True,
    )  # fmt: skip
    return out


class TreeRss:
    """Samples the summed RSS and PSS of this process and all its descendants.

    RSS counts shared libraries in full in every process (Debian's ffmpeg maps ~50 MB of
    them); PSS shares them out, so the PSS sum is the memory the ingest really takes.
    """

    def __init__(self, interval_s: float = 0.1) -> None:
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            pids = _tree(os.getpid())
            self.peak_kb = max(self.peak_kb, sum(_kb(pid, "status", "VmRSS:") for pid in pids))
            pss = sum(_kb(pid, "smaps_rollup", "Pss:") for pid in pids)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from the kernel's per-thread children lists."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                todo += [int(kid) for kid in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _kb(pid: int, name: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_ingest(src: Path) -> dict[str, Any]:
    from controller.config.models import MediaConfig
    from controller.media import MediaLibrary

    with tempfile.TemporaryDirectory() as tmp, TreeRss() as tree:
        lib = MediaLibrary(Path(tmp) / "db.sqlite3", Path(tmp) / "media", MediaConfig())
        start = time.monotonic()
        clip, _ = lib.ingest(src, title="bench", uploader="bench", source="cli",
                             original_name=src.name)  # fmt: skip
        wall = time.monotonic() - start
        lib.close()
    return {"wall_s": wall, "tree_kb": tree.peak_kb, "tree_pss_kb": tree.peak_pss_kb,
            "clip": clip.to_dict(UTC)}  # fmt: skip


def child_pydub(src: Path) -> dict[str, Any]:
    from pydub import AudioSegment

    with tempfile.TemporaryDirectory() as tmp, TreeRss() as tree:
        start = time.monotonic()
        seg = AudioSegment.from_file(str(src), format="mp3")
        seg = seg.apply_gain(-16.0 - seg.dBFS)  # the naive "normalise": RMS, not LUFS
        seg.export(str(Path(tmp) / "out.wav"), format="wav")
        wall = time.monotonic() - start
    return {"wall_s": wall, "tree_kb": tree.peak_kb, "tree_pss_kb": tree.peak_pss_kb}


def run_child(kind: str, src: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(src)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--keep", type=Path, help="folder for the generated MP3 (kept)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, src = args.child[0], Path(args.child[1])
        result = (child_ingest if kind == "ingest" else child_pydub)(src)
        result["self_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["children_maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps(result, ensure_ascii=False))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t = time.monotonic()
        src = make_mp3(folder, args.minutes)
        print(f"generated {src.name}: {src.stat().st_size / 1e6:.1f} MB "
              f"in {time.monotonic() - t:.0f} s")  # fmt: skip
        audio_s = args.minutes * 60
        rows = {"broadcastctl ingest": run_child("ingest", src)}
        rows["naive pydub"] = run_child("pydub", src)
    print("\npeak memory: getrusage max RSS of the Python process (self) and of its largest")
    print("child; 'tree' = sampled sum over the process and its running children (RSS, PSS)")
    head = ("pipeline", "wall s", "x realtime", "self MB", "child MB", "tree RSS", "tree PSS")
    print(f"{head[0]:<22}" + "".join(f"{h:>11}" for h in head[1:]))
    for name, r in rows.items():
        keys = ("self_maxrss_kb", "children_maxrss_kb", "tree_kb", "tree_pss_kb")
        mb = [r[k] / 1024 for k in keys]
        cells = (r["wall_s"], audio_s / r["wall_s"], *mb)
        print(f"{name:<22}" + "".join(f"{c:>11.1f}" for c in cells))
    ours, naive = rows["broadcastctl ingest"], rows["naive pydub"]
    c = ours["clip"]
    print(f"\ningest: {c['normalisation']}, {c['lufs_in']} -> {c['lufs_out']} LUFS, true peak "
          f"{c['peak_in']} -> {c['peak_out']} dBTP, {c['duration_s']} s")  # fmt: skip
    naive_peak = max(naive["self_maxrss_kb"], naive["tree_kb"])
    print(f"pydub / ingest: wall {naive['wall_s'] / ours['wall_s']:.2f}x, "
          f"peak memory {naive_peak / ours['tree_kb']:.1f}x (RSS)")  # fmt: skip
    rt, rss, pss = audio_s / ours["wall_s"], ours["tree_kb"] / 1024, ours["tree_pss_kb"] / 1024
    print(f"goal >= 100x real time: {'met' if rt >= 100 else 'MISSED'} ({rt:.0f}x); "
          f"<= 150 MB peak: {'met' if rss <= 150 else 'MISSED'} (RSS {rss:.0f} MB, "
          f"PSS {pss:.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
