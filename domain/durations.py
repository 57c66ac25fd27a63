"""Durations written like `90s`, `30m`, `1h`, `2h30m`, `1d`, `1w`."""

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([wdhms])")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """Parse `2h30m`-style text; raise ValueError on anything else."""
    s = text.strip().lower()
    if not s:
        raise ValueError("empty duration")
    pos, seconds = 0, 0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        seconds += int(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise ValueError(f"bad duration {text!r} (use forms like 90s, 30m, 1h, 2h30m, 1d, 1w)")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Render a duration compactly, e.g. `1h 5m`, `45s`, `2d 3h`."""
    total = int(delta.total_seconds())
    if total < 60:
        return f"{max(total, 0)}s"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes and not days:
        parts.append(f"{minutes}m")
    return " ".join(parts) or "0m"
