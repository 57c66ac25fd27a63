"""Who is on call when: rotations, calendar events and overrides turned into shifts (pure, UTC).

A rotation repeats `shift` from `handoff` in both directions; a shift of whole days keeps its local
wall-clock start across DST changes (a 23- or 25-hour day), a shorter one is a fixed length. An
override wins over what lies beneath it for its span; a gap is filled by the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.durations import parse_duration

ROTATION, CALENDAR, OVERRIDE, FALLBACK = "rotation", "calendar", "override", "fallback"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_USER_ID = re.compile(r"\b[UW](?=[A-Z0-9]*[0-9])[A-Z0-9]{4,}\b")  # U0ANA, U024BE7LH


@dataclass(frozen=True)
class Shift:
    """Someone on call from `start` to `end` (UTC), and where that came from."""

    start: datetime
    end: datetime
    users: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Restriction:
    """On call only on these weekdays (0 = Monday) between these local times (`end` ≤ `start`: overnight)."""

    days: frozenset[int]
    start: time = time(0)
    end: time = time(0)


@dataclass(frozen=True)
class Rotation:
    """Ordered users taking turns of `shift`, the turn of users[0] starting at the local `handoff`."""

    users: tuple[str, ...]
    shift: timedelta
    handoff: datetime  # naive, in `tz`
    tz: ZoneInfo
    restrict: Restriction | None = None


@dataclass(frozen=True)
class Override:
    """A person on call instead of the schedule, from `start` to `end` (UTC)."""

    user: str
    start: datetime
    end: datetime
    id: int | None = None


def _utc(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def rotation_shifts(rot: Rotation, start: datetime, end: datetime) -> list[Shift]:
    """The rotation's turns that overlap [start, end), cut to the restriction's windows."""
    if not rot.users:
        return []
    whole_days = rot.shift % timedelta(days=1) == timedelta(0)
    anchor = _utc(rot.handoff, rot.tz)

    def boundary(k: int) -> datetime:
        if whole_days:  # the same local time every n days, whatever DST does in between
            return _utc(rot.handoff + k * rot.shift, rot.tz)
        return anchor + k * rot.shift

    span = rot.shift if not whole_days else rot.shift - timedelta(hours=2)  # a DST day may be shorter
    k = int((start - anchor) / span) if span > timedelta(0) else 0
    while boundary(k) > start:
        k -= 1
    while boundary(k + 1) <= start:
        k += 1
    shifts = []
    while boundary(k) < end:
        user = rot.users[k % len(rot.users)]
        shifts.append(Shift(boundary(k), boundary(k + 1), (user,), ROTATION))
        k += 1
    if rot.restrict is not None:
        shifts = _restricted(shifts, rot.restrict, rot.tz)
    return [s for s in shifts if s.end > start and s.start < end]


def _restricted(shifts: list[Shift], restrict: Restriction, tz: ZoneInfo) -> list[Shift]:
    out = []
    for shift in shifts:
        for w_start, w_end in _windows(restrict, tz, shift.start, shift.end):
            s, e = max(shift.start, w_start), min(shift.end, w_end)
            if s < e:
                out.append(replace(shift, start=s, end=e))
    return out


def _windows(
    restrict: Restriction, tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The restriction's local windows, in UTC, between start and end."""
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    out = []
    while day <= last:
        if day.weekday() in restrict.days:
            w_start = datetime.combine(day, restrict.start)
            w_end_day = day if restrict.end > restrict.start else day + timedelta(days=1)
            w_end = datetime.combine(w_end_day, restrict.end)
            out.append((_utc(w_start, tz), _utc(w_end, tz)))
        day += timedelta(days=1)
    return out


def calendar_shifts(
    ics: bytes | str, tz: ZoneInfo, start: datetime, end: datetime, emails: Mapping[str, str]
) -> list[Shift]:
    """Events of an iCalendar feed as shifts, recurrences expanded (RRULE, EXDATE, moved occurrences,
    time zones, Windows zone names). The summary's user ID, else the attendees' e-mails through
    `emails` (address → user ID), names who is on call; an event naming nobody is left out."""
    import icalendar
    import recurring_ical_events

    calendar = icalendar.Calendar.from_ical(ics)
    shifts = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        users = people_of(event, emails)
        if not users:
            continue
        begin = _as_utc(event.get("DTSTART").dt, tz)
        finish = _as_utc(event.get("DTEND").dt, tz) if event.get("DTEND") else begin + _duration(event)
        shifts.append(Shift(begin, finish, users, CALENDAR))
    return sorted(shifts, key=lambda s: (s.start, s.users))


def people_of(event: object, emails: Mapping[str, str]) -> tuple[str, ...]:
    """Who an event puts on call: user IDs in its summary, else its attendees' e-mails resolved."""
    summary = str(event.get("SUMMARY", ""))  # type: ignore[attr-defined]
    found = _USER_ID.findall(summary)
    if found:
        return tuple(dict.fromkeys(found))
    attendees = event.get("ATTENDEE", [])  # type: ignore[attr-defined]
    if not isinstance(attendees, list):
        attendees = [attendees]
    users = [emails.get(address_of(a)) for a in attendees]
    return tuple(dict.fromkeys(u for u in users if u))


def address_of(attendee: object) -> str:
    """`mailto:Ana@Example.com` → `ana@example.com`."""
    return str(attendee).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()


def calendar_addresses(ics: bytes | str) -> set[str]:
    """Every attendee e-mail in a feed (to resolve to Slack users before computing shifts)."""
    import icalendar

    calendar = icalendar.Calendar.from_ical(ics)
    out = set()
    for event in calendar.walk("VEVENT"):
        attendees = event.get("ATTENDEE", [])
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            out.add(address_of(attendee))
    return out


def _duration(event: object) -> timedelta:
    duration = event.get("DURATION")  # type: ignore[attr-defined]
    return duration.dt if duration is not None else timedelta(days=1)


def _as_utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # an all-day event: midnight in the schedule's zone
        return _utc(datetime.combine(value, time(0)), tz)
    return _utc(value, tz) if value.tzinfo is None else value.astimezone(UTC)


def with_overrides(shifts: Iterable[Shift], overrides: Iterable[Override]) -> list[Shift]:
    """Overrides win over what lies beneath them for their span."""
    out = sorted(shifts, key=lambda s: s.start)
    for o in sorted(overrides, key=lambda o: o.start):
        cut = []
        for s in out:
            if s.end <= o.start or s.start >= o.end:
                cut.append(s)
                continue
            if s.start < o.start:
                cut.append(replace(s, end=o.start))
            if s.end > o.end:
                cut.append(replace(s, start=o.end))
        cut.append(Shift(o.start, o.end, (o.user,), OVERRIDE))
        out = sorted(cut, key=lambda s: s.start)
    return out


def gaps(shifts: Iterable[Shift], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Spans in [start, end) when nobody is on call."""
    out, at = [], start
    for s in sorted(shifts, key=lambda s: s.start):
        if s.start > at and at < end:
            out.append((at, min(s.start, end)))
        at = max(at, s.end)
    if at < end:
        out.append((at, end))
    return out


def overlaps(shifts: Iterable[Shift]) -> list[tuple[Shift, Shift]]:
    """Pairs of shifts of different people that overlap in time."""
    ordered = sorted(shifts, key=lambda s: s.start)
    out = []
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.start >= a.end:
                break
            if set(a.users) != set(b.users):
                out.append((a, b))
    return out


def with_fallback(
    shifts: list[Shift], fallback: tuple[str, ...], start: datetime, end: datetime
) -> list[Shift]:
    """The shifts, with every gap given to the fallback users (when there are any)."""
    if not fallback:
        return shifts
    filled = shifts + [Shift(s, e, fallback, FALLBACK) for s, e in gaps(shifts, start, end)]
    return sorted(filled, key=lambda s: s.start)


def on_call(shifts: Iterable[Shift], at: datetime) -> tuple[str, ...]:
    """Everyone on call at `at` (more than one where shifts overlap)."""
    users: dict[str, None] = {}
    for s in shifts:
        if s.start <= at < s.end:
            users.update(dict.fromkeys(s.users))
    return tuple(users)


def parse_restriction(days: Iterable[str], hours: str | None) -> Restriction:
    """`["mon", …, "fri"]` and `"09:00-17:00"` (local) as a Restriction."""
    numbers = frozenset(WEEKDAYS.index(d.strip().lower()[:3]) for d in days)
    if not hours:
        return Restriction(numbers)
    first, _, last = hours.partition("-")
    return Restriction(numbers, time.fromisoformat(first.strip()), time.fromisoformat(last.strip()))


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")
_RELATIVE = re.compile(r"^\+(\d+[wdhms])+$")


def split_times(words: list[str]) -> tuple[list[str], list[str]]:
    """Two times from `words` (`now`, `+2h`, or `YYYY-MM-DD HH:MM`), as their words; ValueError if not."""
    out: list[list[str]] = []
    i = 0
    while len(out) < 2 and i < len(words):
        word = words[i].lower()
        if word == "now" or _RELATIVE.match(word):
            out.append([word])
            i += 1
        elif _DATE.match(word) and i + 1 < len(words) and _TIME.match(words[i + 1]):
            out.append([word, words[i + 1]])
            i += 2
        else:
            raise ValueError(f"`{words[i]}` is not a time: use `now`, `+2h` or `YYYY-MM-DD HH:MM`")
    if len(out) != 2 or i != len(words):
        raise ValueError("give a start and an end: `now`, `+2h` or `YYYY-MM-DD HH:MM` (schedule's time zone)")
    return out[0], out[1]


def resolve_time(words: list[str], tz: ZoneInfo, now: datetime, since: datetime | None = None) -> datetime:
    """A time's words as UTC: `now`, `+2h` (after `since`, else now), or a local `YYYY-MM-DD HH:MM`."""
    if words == ["now"]:
        return now
    if words[0].startswith("+"):
        return (since or now) + parse_duration(words[0][1:])
    local = datetime.fromisoformat(f"{words[0]}T{words[1].zfill(5)}")
    return _utc(local, tz)
