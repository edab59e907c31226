"""What ties a child to its supervisor and keeps two engines off the same hardware."""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def tie_to(parent: int | None) -> None:
    """Get SIGTERM when the supervisor dies (even by kill -9), so no child outlives it and a
    restarted supervisor never finds an old engine still driving the relays."""
    if parent is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != parent:  # it died before the tie was made
        raise SystemExit(f"supervisor {parent} is gone")


def hold_lock(path: Path, wait_s: float) -> int | None:
    """An exclusive lock held for this process's life (the fd is returned and kept open), or
    None after `wait_s`: an engine still stopping holds it until its relays are off."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.1)
