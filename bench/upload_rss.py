"""A 200 MB upload through the API: how much the daemon's resident memory grows.

Starts `broadcastctl run` on a scratch station, makes a ~200 MB WAV (ffmpeg sine, stereo 48 kHz),
streams it to POST /api/media as a police user, and samples the daemon's RSS (/proc) while the
upload and the ingest run. Usage: .venv/bin/python bench/upload_rss.py [--mb 200]
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from peers.daemon import Daemon, StationDir

from controller.access.users import UserStore

CHUNK = 1 << 20


def rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return 0.0


def multipart(path: Path, boundary: str) -> tuple[Iterator[bytes], int]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n大文件测试\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
        yield tail

    return body(), len(head) + path.stat().st_size + len(tail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=200.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        station = StationDir(Path(tmp))
        station.write_config(
            {
                "relays": [{"id": "v", "type": "fake", "channels": 1}],
                "zones": [{"id": "z", "name": "测试区", "relays": ["v:1"]}],
                "media": {"max_upload_mb": args.mb + 20, "max_s": 7200},
            }
        )
        seconds = args.mb * 1024 * 1024 / (48000 * 4)
        big = Path(tmp) / "big.wav"
        subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency=330:duration={seconds:.0f}:sample_rate=48000",
                "-ac",
                "2",
                "-af",
                "volume=-12dB",
                str(big),
            ],
            check=True,
        )
        users = UserStore(station.db)
        token = users.add("bench", "police")
        users.close()
        daemon = Daemon(station)
        daemon.start()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        time.sleep(2)
        before = rss_mb(pid)
        peak, done = [before], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(rss_mb(pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        boundary = uuid.uuid4().hex
        body, length = multipart(big, boundary)
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", station.api_port, timeout=600)
        conn.putrequest("POST", "/api/media")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        for chunk in body:
            conn.send(chunk)
        response = conn.getresponse()
        answer = response.read()
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()
        daemon.stop()
    print(
        f"upload of {length / 1e6:.0f} MB ({seconds / 60:.1f} min of stereo 48 kHz WAV):"
        f" HTTP {response.status} in {elapsed:.1f} s"
    )
    if response.status >= 300:
        print(answer.decode(errors="replace")[:500])
    print(
        f"daemon RSS before {before:.1f} MB, peak {max(peak):.1f} MB,"
        f" growth {max(peak) - before:.1f} MB (goal <= 50 MB)"
    )
    return 0 if response.status < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
