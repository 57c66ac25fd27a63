"""`since` as people say it to a catch-up: `14:05` (today, in their time zone), `30m` or `2h` ago, an
ISO time, or `last` (since their last catch-up)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.durations import parse_duration

LAST = "last"
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_AGO = re.compile(r"^(\d+[wdhms])+(\s+ago)?$")
HINT = "give a time like `14:05`, `30m` or `2h` (ago), an ISO time like `2026-11-22T14:05`, or `last`"


def zone(name: str | None) -> tzinfo:
    """The time zone Slack gave for a person (an IANA name); UTC when unknown or not one."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def check_since(text: str) -> str:
    """The `since` words, tidied (`last`, `14:05`, `30m`, an ISO time); ValueError saying what is accepted."""
    word = " ".join(text.split()).lower()
    if word == LAST or _CLOCK.match(word) or _AGO.match(word):
        return word
    try:
        datetime.fromisoformat(word.upper())
    except ValueError:
        raise ValueError(f"`{text.strip()[:40]}` is not a time: {HINT}") from None
    return word


def is_ago(word: str) -> bool:
    """Whether `word` (checked) is a span back from now: `30m`, `2h ago`."""
    return bool(_AGO.match(word))


def in_zone(word: str) -> bool:
    """Whether `word` (checked) is read in the person's time zone: a clock time, or an ISO time
    without an offset."""
    if _CLOCK.match(word):
        return True
    if word == LAST or _AGO.match(word):
        return False
    return datetime.fromisoformat(word.upper()).tzinfo is None


def since_time(word: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """The moment `word` (checked by `check_since`, not `last`) names, in UTC: a clock time is its last
    occurrence up to `now` in `tz`, an ISO time without an offset is in `tz`; ValueError for the future."""
    clock = _CLOCK.match(word)
    if clock:
        local = now.astimezone(tz)
        at = local.replace(hour=int(clock.group(1)), minute=int(clock.group(2)), second=0, microsecond=0)
        if at > local:
            at -= timedelta(days=1)  # 14:05 said at 10:00 is yesterday's
        return at.astimezone(UTC)
    if _AGO.match(word):
        return now - parse_duration(word.removesuffix("ago").strip())
    at = datetime.fromisoformat(word.upper())
    at = (at if at.tzinfo else at.replace(tzinfo=tz)).astimezone(UTC)
    if at > now:
        raise ValueError(f"{at:%Y-%m-%d %H:%M} UTC is in the future")
    return at
