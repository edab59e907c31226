"""What the API process may ask of the air engine, whichever process the engine runs in.

The engine owns the hardware (relays, amplifiers, audio, screens) and decides what airs. The
API process holds no reference to any of it: it asks through this interface, implemented in
the same process by `LocalEngine` (tests, `run --single-process`) and across a Unix socket by
`EngineClient`. Every answer is plain data (JSON-shaped), so both give the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

Color = Literal["red", "green", "yellow"]


class EngineUnavailable(RuntimeError):
    """The engine did not answer (restarting, stopped, or too slow): said to the operator."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"播出引擎暂时无法响应，请稍后重试 / the air engine is not answering: {why}"
        )
        self.why = why


@dataclass(frozen=True)
class ScreenText:
    """A temporary text for the screens (a police warning, an emergency's text): it preempts
    the slogans on `displays` (None: every screen) for `minutes`; the highest `priority`
    shows; `key` lets it be withdrawn with what pushed it; `since` backdates its start."""

    text: str
    displays: list[str] | None
    minutes: float
    by: str
    color: Color = "red"
    priority: int = 80
    key: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class ShownMessage:
    """A temporary text the screens show now (the engine's answer to a push)."""

    id: int
    text: str
    displays: tuple[str, ...]
    until: datetime
    by: str


@dataclass(frozen=True)
class AiringStates:
    """Which airings hold or wait for the air, by base id (an override's airing id)."""

    on_air: frozenset[str]
    waiting: frozenset[str]


class Engine(Protocol):
    def ready(self) -> bool:
        """True once the engine's station has started (it answers and recovered the record).
        Never blocks: the client answers from its last contact."""
        ...

    def status(self) -> dict[str, Any]:
        """`/api/status`: what airs now and next, zones, devices, screens, record, faults."""
        ...

    def airing_states(self) -> AiringStates: ...

    def kick(self) -> None:
        """Reconcile soon: what should air changed (an override, a blackout)."""
        ...

    def lead_s(self, zones: list[str]) -> float:
        """How far ahead an airing asked for "now" on `zones` must start."""
        ...

    def stop_air(self, reason: str) -> list[str]:
        """停播: stop what is on air now; the ids stopped."""
        ...

    def stop_airing(self, airing_id: str, reason: str) -> bool:
        """Stop one airing (its id or base id); False if it is neither running nor waiting."""
        ...

    def push_message(self, message: ScreenText) -> ShownMessage:
        """Show a temporary text on the screens. ValueError (operator's words) if it cannot."""
        ...

    def withdraw(self, key: str) -> int:
        """Take down the texts pushed with `key`; how many there were."""
        ...

    def metrics_text(self) -> bytes:
        """The engine's own Prometheus series (relay command latency), text format."""
        ...
