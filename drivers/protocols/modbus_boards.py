"""Modbus relay board dialects as data: the frames that switch, time and read back a channel."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from drivers.protocols.modbus import (
    COIL_OFF,
    COIL_ON,
    READ_COILS,
    READ_HOLDING_REGISTERS,
    WRITE_SINGLE_COIL,
    WRITE_SINGLE_REGISTER,
    CoilValues,
    RegisterValues,
    ReplyEvent,
    Request,
    read_coils,
    read_registers,
    write_coil,
    write_coils,
    write_register,
)


@dataclass(frozen=True)
class TimedOff:
    """The board's own timer, used as the dead-man: ON now, OFF by itself after steps × step_s."""

    function: int
    address_base: int  # protocol address of channel 1's timed command
    value_base: int  # the step count is added to this
    step_s: float
    max_steps: int

    @property
    def max_s(self) -> float:
        return self.max_steps * self.step_s

    def steps(self, seconds: float) -> int:
        """Steps for `seconds`: rounded up (never shorter than asked), 1..max_steps."""
        if seconds <= 0:
            raise ValueError(f"a dead-man time must be positive, not {seconds!r}")
        return min(self.max_steps, max(1, math.ceil(seconds / self.step_s - 1e-6)))


@dataclass(frozen=True)
class BoardProfile:
    """How one kind of board maps channel 1..n to frames (config `profile:`)."""

    name: str
    write_function: int
    address_base: int  # protocol address of channel 1, for switching and reading
    on_value: int
    off_value: int
    read_function: int  # READ_COILS: every channel in one frame; registers: one per channel
    multi_write: bool  # FC0F over the coils switches several channels in one frame
    timed_off: TimedOff | None  # None: the board has no timer, so no device-side dead-man

    def switch(self, unit: int, channel: int, on: bool) -> Request:
        address = self.address_base + channel - 1
        value = self.on_value if on else self.off_value
        if self.write_function == WRITE_SINGLE_COIL:
            return write_coil(unit, address, value)
        return write_register(unit, address, value)

    def timed_on(self, unit: int, channel: int, steps: int) -> Request:
        """ON now and OFF by itself after `steps` (see `TimedOff.steps`)."""
        timed = self.timed_off
        if timed is None:
            raise ValueError(f"board profile {self.name!r} has no timer")
        if not 1 <= steps <= timed.max_steps:
            raise ValueError(f"timer steps must be 1..{timed.max_steps}, not {steps}")
        address = timed.address_base + channel - 1
        if timed.function == WRITE_SINGLE_COIL:
            return write_coil(unit, address, timed.value_base + steps)
        return write_register(unit, address, timed.value_base + steps)

    def command(
        self, unit: int, channel: int, on: bool, deadman_s: float = 0.0
    ) -> tuple[Request, float | None]:
        """The frame that switches `channel`, and for an ON with `deadman_s` > 0 on a board
        with a timer, the timed command instead with its real length (rounded up, capped)."""
        if not on or deadman_s <= 0 or self.timed_off is None:
            return self.switch(unit, channel, on), None
        steps = self.timed_off.steps(deadman_s)
        return self.timed_on(unit, channel, steps), steps * self.timed_off.step_s

    def read(self, unit: int, channel: int, channels: int) -> Request:
        """The read-back that shows `channel` (with coils: all `channels` at once)."""
        if self.read_function == READ_COILS:
            return read_coils(unit, self.address_base, channels)
        return read_registers(unit, self.address_base + channel - 1, 1)

    def states(self, request: Request, event: ReplyEvent) -> dict[int, bool]:
        """Channel → ON, from the reply to one of `read`'s requests."""
        first = request.address - self.address_base + 1
        if isinstance(event, CoilValues):
            return {first + i: bit for i, bit in enumerate(event.bits)}
        if isinstance(event, RegisterValues):
            return {first + i: value != 0 for i, value in enumerate(event.values)}
        raise ValueError(f"not a read-back reply: {event!r}")

    def write_many(self, unit: int, channels: Iterable[int], on: bool) -> list[Request]:
        """Frames that switch `channels`: one FC0F per run of adjacent channels where the board
        takes it (never touching a channel outside the set), else one frame per channel."""
        ordered = sorted(set(channels))
        if not self.multi_write:
            return [self.switch(unit, ch, on) for ch in ordered]
        runs: list[list[int]] = []
        for ch in ordered:
            if runs and runs[-1][-1] == ch - 1:
                runs[-1].append(ch)
            else:
                runs.append([ch])
        return [write_coils(unit, self.address_base + run[0] - 1, [on] * len(run)) for run in runs]


STANDARD = BoardProfile(
    "standard", WRITE_SINGLE_COIL, 0, COIL_ON, COIL_OFF, READ_COILS, True, timed_off=None
)

# Waveshare "Modbus RTU Relay" (protocol V2): standard coils, plus timed FC05 commands whose
# value is the time in 100 ms steps (max 0x7FFF ≈ 54.6 min; echo reply). Our dead-man is the
# command at 0x0200+ch that the vendor calls "flash ON": the relay goes ON and falls OFF by
# itself when the time is up (the research report and Waveshare-derived drivers agree on this;
# verify on hardware). The mirror command at 0x0400+ch ("flash OFF") is never sent: the
# documents give only its encoding, and by its name it ends with the relay ON, not OFF.
WAVESHARE = BoardProfile(
    "waveshare",
    WRITE_SINGLE_COIL,
    0,
    COIL_ON,
    COIL_OFF,
    READ_COILS,
    True,
    timed_off=TimedOff(WRITE_SINGLE_COIL, 0x0200, 0, 0.1, 0x7FFF),
)

# R421A08-family boards: FC06 to register = relay number (1-based); value high byte = command,
# low byte = seconds. 01 ON, 02 OFF, 06 "delay" (ON for N s, then OFF): at most 255 s, so
# the airing runner must re-arm it well within four minutes. FC03 on the relay's register reads
# 0/1. Drivers disagree whether 01 means open or close on some clones: verify per model.
R421A08 = BoardProfile(
    "r421a08",
    WRITE_SINGLE_REGISTER,
    1,
    0x0100,
    0x0200,
    READ_HOLDING_REGISTERS,
    False,
    timed_off=TimedOff(WRITE_SINGLE_REGISTER, 1, 0x0600, 1.0, 255),
)

PROFILES = {p.name: p for p in (STANDARD, WAVESHARE, R421A08)}
