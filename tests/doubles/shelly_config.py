"""Switch config of a Shelly Gen2 device, from the Switch component docs (config section)."""

from __future__ import annotations

from typing import Any

_STATES = ("off", "on", "restore_last", "match_input")
_MODES = ("momentary", "follow", "flip", "detached")


def default_config(sid: int) -> dict[str, Any]:
    """As a Plus/Pro switch ships: output follows its input after power-up, no auto timers."""
    return {
        "id": sid,
        "name": None,
        "in_mode": "follow",
        "initial_state": "match_input",
        "auto_on": False,
        "auto_on_delay": 60.0,
        "auto_off": False,
        "auto_off_delay": 60.0,
    }


def apply_config(config: dict[str, Any], change: Any) -> str | None:
    """Merge a Switch.SetConfig `config` into `config`; the error message if it is invalid."""
    if not isinstance(change, dict):
        return "Missing required argument 'config'!"
    for key, value in change.items():
        if key not in config or key == "id":
            return f"Unknown config key '{key}'"
        if key == "initial_state" and value not in _STATES:
            return f"Invalid argument 'initial_state', value {value}"
        if key == "in_mode" and value not in _MODES:
            return f"Invalid argument 'in_mode', value {value}"
        if key in ("auto_on", "auto_off") and not isinstance(value, bool):
            return f"Invalid argument '{key}'"
    config.update(change)
    return None
