"""Schedule computation with fixed clocks: rotations across DST, restrictions, overrides, calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.oncall import (
    CALENDAR,
    FALLBACK,
    OVERRIDE,
    Override,
    Rotation,
    calendar_shifts,
    gaps,
    on_call,
    overlaps,
    parse_restriction,
    rotation_shifts,
    with_fallback,
    with_overrides,
)

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def test_a_daily_rotation_keeps_its_local_handoff_across_both_berlin_dst_changes() -> None:
    rot = Rotation(("U0ANA", "U0BEN"), timedelta(days=1), datetime(2026, 3, 1, 9, 0), BERLIN)
    shifts = rotation_shifts(rot, utc(2026, 3, 27), utc(2026, 4, 1))
    starts = [s.start.astimezone(BERLIN) for s in shifts]
    assert all((t.hour, t.minute) == (9, 0) for t in starts), starts
    by_day = {s.start.astimezone(BERLIN).date().day: s for s in shifts}
    assert by_day[28].end - by_day[28].start == timedelta(hours=23), "the night clocks go forward"
    assert by_day[29].end - by_day[29].start == timedelta(hours=24)
    # Turns alternate from the handoff: 1 March is Ana's, so 28 March (27 days later) is Ben's.
    assert by_day[28].users == ("U0BEN",) and by_day[29].users == ("U0ANA",)
    autumn = rotation_shifts(rot, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    long_day = next(s for s in autumn if s.start.astimezone(BERLIN).day == 24)
    assert long_day.end - long_day.start == timedelta(hours=25), "the night clocks go back"


def test_a_weekly_rotation_in_new_york_hands_off_monday_9am_local_before_and_after_dst() -> None:
    rot = Rotation(("U0ANA", "U0BEN", "U0CAT"), timedelta(weeks=1), datetime(2026, 1, 5, 9, 0), NEW_YORK)
    shifts = rotation_shifts(rot, utc(2026, 2, 20), utc(2026, 3, 25))
    for s in shifts:
        t = s.start.astimezone(NEW_YORK)
        assert (t.weekday(), t.hour) == (0, 9), t
    around = [s for s in shifts if s.start.astimezone(NEW_YORK).date().month == 3]
    assert [s.start.astimezone(UTC).hour for s in around[:2]] == [14, 13], "EST then EDT"
    # Shifts repeat in both directions from the handoff: a week before it is Cat's (index -1).
    [before] = rotation_shifts(rot, utc(2026, 1, 1), utc(2026, 1, 2))
    assert before.users == ("U0CAT",)
    assert on_call(shifts, local(NEW_YORK, 2026, 3, 9, 8, 59)) != on_call(
        shifts, local(NEW_YORK, 2026, 3, 9, 9)
    )


def test_short_shifts_are_fixed_lengths_and_restrictions_cut_them_to_business_hours() -> None:
    rot = Rotation(
        ("U0ANA", "U0BEN"),
        timedelta(hours=12),
        datetime(2026, 11, 30, 8, 0),
        BERLIN,
        parse_restriction(["mon", "tue", "wed", "thu", "fri"], "09:00-17:00"),
    )
    week = rotation_shifts(rot, utc(2026, 11, 30), utc(2026, 12, 7))
    assert {s.start.astimezone(BERLIN).weekday() for s in week} == {0, 1, 2, 3, 4}
    assert all(s.start.astimezone(BERLIN).hour >= 9 and s.end.astimezone(BERLIN).hour <= 17 for s in week)
    assert on_call(week, local(BERLIN, 2026, 12, 5, 12)) == (), "Saturday is a gap"
    assert on_call(week, local(BERLIN, 2026, 11, 30, 12)) == ("U0ANA",)
    hole = gaps(week, utc(2026, 11, 30), utc(2026, 12, 7))
    assert hole and hole[0] == (utc(2026, 11, 30), local(BERLIN, 2026, 11, 30, 9).astimezone(UTC))
    filled = with_fallback(week, ("U0LEAD",), utc(2026, 11, 30), utc(2026, 12, 7))
    assert on_call(filled, local(BERLIN, 2026, 12, 5, 12)) == ("U0LEAD",)
    assert not gaps(filled, utc(2026, 11, 30), utc(2026, 12, 7))
    assert {s.source for s in filled} >= {FALLBACK}


def test_an_override_across_a_handoff_wins_for_its_span_only() -> None:
    rot = Rotation(("U0ANA", "U0BEN"), timedelta(days=1), datetime(2026, 11, 1, 9, 0), BERLIN)
    start, end = utc(2026, 11, 30), utc(2026, 12, 3)
    base = rotation_shifts(rot, start, end)
    cover = Override("U0CAT", local(BERLIN, 2026, 12, 1, 6).astimezone(UTC), local(BERLIN, 2026, 12, 1, 12))
    final = with_overrides(base, [cover])
    assert on_call(final, local(BERLIN, 2026, 12, 1, 8, 59)) == ("U0CAT",)
    assert on_call(final, local(BERLIN, 2026, 12, 1, 9, 1)) == ("U0CAT",)
    before = on_call(base, local(BERLIN, 2026, 12, 1, 5))
    after = on_call(base, local(BERLIN, 2026, 12, 1, 13))
    assert before != after, "the override spans the 09:00 handoff"
    assert on_call(final, local(BERLIN, 2026, 12, 1, 5)) == before
    assert on_call(final, local(BERLIN, 2026, 12, 1, 13)) == after
    assert [s.source for s in final if s.users == ("U0CAT",)] == [OVERRIDE]
    assert not gaps(final, start, end) and not overlaps(final)


CALENDAR_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//oncall//EN
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:primary-weekly@test
SUMMARY:Primary U0ANA
DTSTART;TZID=W. Europe Standard Time:20261102T090000
DTEND;TZID=W. Europe Standard Time:20261103T090000
RRULE:FREQ=WEEKLY;BYDAY=MO,WE
EXDATE;TZID=W. Europe Standard Time:20261111T090000
END:VEVENT
BEGIN:VEVENT
UID:primary-weekly@test
RECURRENCE-ID;TZID=W. Europe Standard Time:20261116T090000
SUMMARY:Primary U0ANA (moved)
DTSTART;TZID=W. Europe Standard Time:20261117T090000
DTEND;TZID=W. Europe Standard Time:20261118T090000
END:VEVENT
BEGIN:VEVENT
UID:ben@test
SUMMARY:Ben covers
ATTENDEE;CN=Ben:mailto:Ben@Example.com
DTSTART:20261104T080000Z
DTEND:20261104T200000Z
END:VEVENT
END:VCALENDAR
"""


def test_calendar_recurrences_exdates_moved_occurrences_windows_zones_and_e_mails() -> None:
    shifts = calendar_shifts(
        CALENDAR_ICS, BERLIN, utc(2026, 11, 1), utc(2026, 11, 30), {"ben@example.com": "U0BEN"}
    )
    ana = [s.start.astimezone(BERLIN) for s in shifts if s.users == ("U0ANA",)]
    days = [t.day for t in ana]
    assert 11 not in days, "EXDATE removes the 11th"
    assert 16 not in days and 17 in days, "the 16th moved to the 17th"
    assert {2, 4, 9, 18, 23, 25} <= set(days)
    assert all(t.hour == 9 for t in ana), "W. Europe Standard Time is Berlin time"
    [ben] = [s for s in shifts if s.users == ("U0BEN",)]
    assert (ben.start, ben.end, ben.source) == (utc(2026, 11, 4, 8), utc(2026, 11, 4, 20), CALENDAR)
    assert overlaps(shifts), "Ben's cover overlaps Ana's Wednesday"
    assert set(on_call(shifts, utc(2026, 11, 4, 12))) == {"U0ANA", "U0BEN"}
    assert on_call(shifts, utc(2026, 11, 5, 12)) == (), "a gap on Thursday"
