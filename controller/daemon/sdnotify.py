"""systemd's notify protocol (sd_notify(3)): a datagram to $NOTIFY_SOCKET. Without systemd
(no variable) every call does nothing."""

from __future__ import annotations

import os
import socket


def watchdog_interval_s() -> float | None:
    """Half the watchdog period systemd set (WatchdogSec=), or None if it set none."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


def notify(state: str) -> bool:
    """Send e.g. "READY=1", "WATCHDOG=1", "STOPPING=1"; False if there is no systemd."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(state.encode(), address)
        except OSError:
            return False
    return True
