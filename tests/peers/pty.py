"""A socat pty pair with stable link names: kill it and start it again to unplug a port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

SOCAT = os.environ.get("SOCAT", "/usr/bin/socat")
_START_TIMEOUT_S = 5.0


class SocatMissing(RuntimeError):
    """Debian's socat is not installed."""


class PtyPair:
    """Two linked ptys: bytes written to `a` come out of `b` and back.

    `kill()` removes both ends (an open handle sees EOF/EIO, the links vanish, as when a USB
    adapter is pulled); `start()` again brings new ptys under the same link names.
    """

    def __init__(self, directory: Path | None = None) -> None:
        path = SOCAT if os.path.exists(SOCAT) else shutil.which("socat")
        if path is None:
            raise SocatMissing(
                f"socat not found at {SOCAT} or on PATH: install Debian's socat "
                "(apt-get install socat) — the serial tests need a real pty pair"
            )
        self._binary = path
        self._own_dir = directory is None
        self.dir = directory or Path(tempfile.mkdtemp(prefix="pty-test-"))
        self.a = self.dir / "a"
        self.b = self.dir / "b"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("socat is already running")
        for link in (self.a, self.b):
            link.unlink(missing_ok=True)  # a killed socat leaves dangling links
        self._process = subprocess.Popen(
            [
                self._binary,
                "-d",
                "-d",
                f"pty,raw,echo=0,link={self.a}",
                f"pty,raw,echo=0,link={self.b}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not (self.a.exists() and self.b.exists()):
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                self._process = None
                raise RuntimeError(f"socat exited at start: {err}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"socat links {self.a}, {self.b} not there after 5 s")
            time.sleep(0.01)
        # socat logs "starting data transfer loop" once both ends are open; the links exist
        # just before that, and a write in between is still buffered by the pty: no wait needed.

    def kill(self) -> None:
        """Unplug: both ptys disappear at once, no clean shutdown."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()
        for link in (self.a, self.b):
            link.unlink(missing_ok=True)

    def close(self) -> None:
        self.kill()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PtyPair:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
