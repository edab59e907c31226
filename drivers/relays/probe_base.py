"""The life of a device-settings probe: one task per online period, owned, awaited, cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from drivers.relays.common import Section

Words = tuple[str, str]  # (Chinese, English)


class ProbeConfig(Section, Protocol):
    """What a probe (and the MQTT relay around it) reads of the relay's config section."""

    @property
    def confirm_timeout_s(self) -> float: ...

    @property
    def retries(self) -> int: ...

    @property
    def fix_settings(self) -> bool: ...


class DeviceProbe:
    """Subclasses read the device in `_run()`, set `read` when done (or `problem` when not),
    reset what they learned in `_reset()` and list unsafe settings in `_unsafe()`. They may
    correct unsafe settings when `_fix`, waiting `_timeout_s` for each answer."""

    def __init__(self, cfg: ProbeConfig) -> None:
        self._id, self._channels = cfg.id, cfg.channels
        self._fix, self._timeout_s = cfg.fix_settings, cfg.confirm_timeout_s
        self._retries = cfg.retries
        self.read = False
        self.problem: Words | None = None  # why the last probe could not finish
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    def _reset(self) -> None:
        """Forget what the device said (it went away, or we lost the broker)."""

    def _unsafe(self) -> list[Words]:
        return []

    def restart(self) -> None:
        """The device (re)appeared: what it said before may no longer hold. Ask again."""
        self.forget()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"probe-{self._id}")

    def forget(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.read, self.problem = False, None
        self._reset()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def ready(self) -> None:
        """Wait for the running probe, or run one if none is; a cancelled caller leaves it be."""
        if self.read:
            return
        if self._task is None or self._task.done():
            self.restart()
        task = self._task
        assert task is not None
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not task.cancelled() or current is None or current.cancelling():
                raise  # we are the one being cancelled
            # else the probe was called off (device offline): `read` stays False, fault() says so

    def fault(self) -> Words | None:
        """What is wrong with the device as a whole, or None; unknown counts only once tried."""
        if not self.read:
            return self.problem
        found = self._unsafe()
        if not found:
            return None
        return (
            "设备设置不安全：" + "；".join(zh for zh, _ in found),
            "unsafe device setting: " + "; ".join(en for _, en in found),
        )
