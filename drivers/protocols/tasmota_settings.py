"""Which Tasmota settings defeat a PulseTime dead-man, how to ask for them and how to fix them."""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.protocols.tasmota import CommandRejected, PulseTimeReport, SettingReport, TasmotaEvent

SAFE_POWER_ON_STATE = 0  # relays OFF after mains returns (device-protocols.md: for amplifiers)
LEGACY_PULSE_TIMERS = 8  # older builds: PulseTime1..8 only, timer n also runs relays n+8, n+16
POWER_ON_STATES = {  # (Chinese, English) from the PowerOnState docs
    0: ("来电后保持关闭", "OFF after power-up"),
    1: ("来电后开启", "ON after power-up"),
    2: ("来电后翻转", "toggled after power-up"),
    3: ("来电后恢复上次状态", "last saved state after power-up"),
    4: ("常开且禁止控制继电器", "ON with relay control disabled"),
    5: ("反向定时：每次关闭后定时开启", "inverted PulseTime: every OFF turns back ON"),
}
Words = tuple[str, str]  # (Chinese, English)


@dataclass
class TasmotaSettings:
    """What the device said about the settings that matter; None: not (yet) answered."""

    channels: int
    power_on_state: int | None = None
    interlock: bool | None = None
    setoption4: bool | None = None  # replies on stat/<t>/<COMMAND> instead of RESULT
    setoption26: bool | None = None  # POWER1 instead of POWER on a single relay
    top_timer: bool | None = None  # PulseTime<channels> answered (only asked with > 8 relays)
    rejected: list[str] = field(default_factory=list)

    def queries(self) -> list[str]:
        """Commands to send with an empty payload (a query) for what is still unknown."""
        wanted: dict[str, object] = {}
        if self.channels > LEGACY_PULSE_TIMERS:
            # First: replies come in order, so the later ones show whether this one was dropped.
            wanted[f"PulseTime{self.channels}"] = self.top_timer
        wanted |= {
            "PowerOnState": self.power_on_state,
            "SetOption4": self.setoption4,
            "SetOption26": self.setoption26,
        }
        if self.channels > 1:
            wanted["Interlock"] = self.interlock  # single-relay firmware has no interlock
        return [name for name, value in wanted.items() if value is None]

    def absorb(self, event: TasmotaEvent) -> bool:
        """Take in one reply; True when it was about a setting we track."""
        if isinstance(event, PulseTimeReport):
            if event.channel == self.channels and self.channels > LEGACY_PULSE_TIMERS:
                self.top_timer = True
                return True
            return False
        if isinstance(event, CommandRejected):
            self.rejected.append(event.reason)
            return True
        if not isinstance(event, SettingReport):
            return False
        if event.name == "POWERONSTATE":
            self.power_on_state = event.value
        elif event.name == "INTERLOCK":
            self.interlock = bool(event.value)
        elif event.name == "SETOPTION4":
            self.setoption4 = bool(event.value)
        elif event.name == "SETOPTION26":
            self.setoption26 = bool(event.value)
        else:
            return False
        return True

    @property
    def answered(self) -> bool:
        """Everything but the PulseTime capacity probe has an answer (that one may be silence)."""
        return not [q for q in self.queries() if not q.startswith("PulseTime")]

    def conclude(self) -> None:
        """After the last try: an unanswered PulseTime<channels> means an 8-timer firmware."""
        if self.answered and self.top_timer is None and self.channels > LEGACY_PULSE_TIMERS:
            self.top_timer = False

    def fixes(self) -> list[tuple[str, str]]:
        """Commands that correct what can be corrected (sent only with fix_settings)."""
        out: list[tuple[str, str]] = []
        if self.power_on_state is not None and self.power_on_state != SAFE_POWER_ON_STATE:
            out.append(("PowerOnState", str(SAFE_POWER_ON_STATE)))
        if self.interlock:
            out.append(("Interlock", "0"))
        return out

    def faults(self) -> list[Words]:
        """What defeats the dead-man or the safe state on the whole device, (Chinese, English)."""
        out: list[Words] = []
        state = self.power_on_state
        if state is not None and state != SAFE_POWER_ON_STATE:
            zh, en = POWER_ON_STATES.get(state, ("未知", "unknown"))
            out.append((f"PowerOnState {state}（{zh}）", f"PowerOnState {state} ({en})"))
        if self.interlock:
            zh = "Interlock 开（开一路会关另一路）"
            out.append((zh, "Interlock ON (one relay ON turns another OFF)"))
        return out

    def channel_fault(self, channel: int) -> Words | None:
        """Why `channel` can have no dead-man of its own (8-timer firmware sharing timers)."""
        if self.top_timer is not False:
            return None
        twins = [
            c
            for c in range(1, self.channels + 1)
            if c != channel and (c - 1) % LEGACY_PULSE_TIMERS == (channel - 1) % LEGACY_PULSE_TIMERS
        ]
        if channel <= LEGACY_PULSE_TIMERS and not twins:
            return None
        return (
            f"固件只有 {LEGACY_PULSE_TIMERS} 个定时器，与第{'、'.join(map(str, twins))}路共用",
            f"firmware has {LEGACY_PULSE_TIMERS} pulse timers only (PulseTime{self.channels} "
            f"unanswered), relay {channel} shares one with {', '.join(map(str, twins))}",
        )
