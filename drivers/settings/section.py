"""The base of every config model: unknown keys are errors, never silently ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # NaN passes every `ge`/`le` (all comparisons are false) and inf is no time to wait.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
