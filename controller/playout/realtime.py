"""Real-time scheduling for the audio thread: a low SCHED_FIFO priority where the OS allows."""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

# Low on purpose: above every normal thread (and CPU hogs), below the kernel's own RT threads
# (IRQ threads run at 50), so a bug in the player cannot starve the machine's drivers.
RT_PRIORITY = 10
NICE = -10

_warned = threading.Event()


def promote_current_thread(priority: int = RT_PRIORITY) -> str:
    """Ask for SCHED_FIFO for the calling thread, else a lower nice value; says what it got.

    On Linux both calls apply to the calling thread only (pid 0 is "me", nice is per-thread),
    so the rest of the daemon keeps normal priority. The first refusal is logged once.
    """
    try:
        # RESET_ON_FORK: the ffmpeg decoders this thread spawns start at normal priority.
        policy = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
        os.sched_setscheduler(0, policy, os.sched_param(priority))
        return f"SCHED_FIFO {priority}"
    except (AttributeError, OSError) as exc:  # no CAP_SYS_NICE / RLIMIT_RTPRIO, or not Linux
        rt_error = exc
    try:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)
        got = f"nice {NICE}"
    except (AttributeError, OSError):
        got = "normal priority"
    if not _warned.is_set():
        _warned.set()
        log.warning(
            "audio thread: no real-time scheduling (%s); running at %s. Grant it with "
            "`LimitRTPRIO=20` in the systemd unit or CAP_SYS_NICE",
            rt_error,
            got,
        )
    return got
