"""Field types the policy's sections share: durations and the strict, frozen base model."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from domain.durations import parse_duration


def to_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("expected a duration string like 30m")
    return parse_duration(value)


def _optional_duration(value: Any) -> timedelta | None:
    if isinstance(value, str) and value.strip().lower() in ("none", "never", "off", ""):
        return None
    return to_duration(value)


Duration = Annotated[timedelta, BeforeValidator(to_duration)]
OptionalDuration = Annotated[timedelta | None, BeforeValidator(_optional_duration)]


class Strict(BaseModel):
    """Unknown keys are errors; a loaded policy never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
