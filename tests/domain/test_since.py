"""`since` words: a clock time is its last occurrence in the person's time zone, `30m` is ago, an ISO
time without an offset is theirs too; anything else is refused saying what is accepted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.since import check_since, in_zone, since_time, zone

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("said", "tz", "meant"),
    [
        ("09:15", None, datetime(2026, 11, 22, 9, 15, tzinfo=UTC)),
        ("14:05", None, datetime(2026, 11, 21, 14, 5, tzinfo=UTC)),  # later today: yesterday's
        ("14:05", "Asia/Tokyo", datetime(2026, 11, 22, 5, 5, tzinfo=UTC)),  # UTC+9
        ("30m", None, datetime(2026, 11, 22, 9, 30, tzinfo=UTC)),
        ("1h30m ago", None, datetime(2026, 11, 22, 8, 30, tzinfo=UTC)),
        ("2026-11-22T08:00", "Europe/Paris", datetime(2026, 11, 22, 7, 0, tzinfo=UTC)),
        ("2026-11-22T08:00Z", "Europe/Paris", datetime(2026, 11, 22, 8, 0, tzinfo=UTC)),
        ("09:00", "Not/AZone", datetime(2026, 11, 22, 9, 0, tzinfo=UTC)),
    ],
)
def test_since_words_name_a_moment(said: str, tz: str | None, meant: datetime) -> None:
    assert since_time(check_since(said), NOW, zone(tz)) == meant


def test_only_clock_and_offsetless_times_are_read_in_the_zone() -> None:
    assert [
        in_zone(check_since(w)) for w in ("14:05", "30m", "last", "2026-11-22T08:00", "2026-11-22T08:00Z")
    ] == [
        True,
        False,
        False,
        True,
        False,
    ]


@pytest.mark.parametrize("said", ["teatime", "25:00", "14:5", "<!channel>", "since", ""])
def test_other_words_are_refused(said: str) -> None:
    with pytest.raises(ValueError, match="is not a time"):
        check_since(said)


def test_a_future_iso_time_is_refused() -> None:
    with pytest.raises(ValueError, match="in the future"):
        since_time(check_since("2026-11-23T00:00Z"), NOW)
