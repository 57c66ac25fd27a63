"""Due dates as people type them: `2026-12-04`, `+3d`, `+2w`, `friday`, `tomorrow`."""

from __future__ import annotations

import re
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE = re.compile(r"^\+(\d{1,3})([dw])$")


def parse_due(text: str, today: date) -> date:
    """The date meant, never before `today`; ValueError saying what is accepted."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    relative = _RELATIVE.match(word)
    if relative:
        n, unit = int(relative.group(1)), relative.group(2)
        return today + timedelta(days=n * (7 if unit == "w" else 1))
    day = next((i for i, name in enumerate(WEEKDAYS) if len(word) >= 3 and name.startswith(word)), None)
    if day is not None:  # the next one after today: "friday" said on a Friday is next week's
        return today + timedelta(days=(day - today.weekday() - 1) % 7 + 1)
    try:
        due = date.fromisoformat(word)
    except ValueError:
        raise ValueError(
            f"`{text}` is not a due date: give YYYY-MM-DD, +3d, +2w, a weekday (friday) or tomorrow"
        ) from None
    if due < today:
        raise ValueError(f"{due.isoformat()} is in the past")
    return due
