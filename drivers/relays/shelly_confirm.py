"""When a Shelly's read-back confirms a switch: output, flip-back timer length, timer freshness."""

from __future__ import annotations

from drivers.protocols import shelly as rpc

_DURATION_TOLERANCE_S = 0.5


def mismatch(status: rpc.SwitchStatus | None, on: bool, toggle_after: float | None) -> str:
    """Why a read-back does not confirm the switch ("" when it does)."""
    if status is None:
        return "status without output"
    if status.output != on:
        return f"output reads {'ON' if status.output else 'OFF'}"
    duration = status.timer_duration
    if toggle_after is not None and (
        duration is None or abs(duration - toggle_after) > _DURATION_TOLERANCE_S
    ):
        return f"flip-back timer is {duration}, not {toggle_after}"
    if not on and duration is not None:
        return f"a {duration} s timer would switch it back ON"
    return ""


def stale_timer(
    started: float, sent: float, offset_s: float | None, tolerance_s: float, before: float | None
) -> str:
    """Why a running timer is not the one our Set started ("" when it is).

    `started` is timer_started_at on the device's clock (Unix time, UTC), `sent` our time.time()
    at the request and `offset_s` the device clock minus ours (None: the device has no time).
    """
    if offset_s is not None:
        age = sent + offset_s - started
        if age > tolerance_s:
            return f"flip-back timer started {age:.1f} s before the request (stale)"
        return ""
    # No device time to compare with: at least the timer must have restarted since the last one.
    if before is not None and started <= before:
        return "flip-back timer not restarted (stale timer_started_at)"
    return ""
