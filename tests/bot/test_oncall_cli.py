"""`incident-bot oncall show | check | export` and the on-call load in `stats`, as a user runs them."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar

from services.stats import oncall_load, report

POLICY = """\
announce_channel = "C0INCIDENTS"

[[schedules]]
name = "primary"
timezone = "Europe/Berlin"
users = ["U0ANA", "U0BEN"]
shift = "1d"
handoff = 2026-11-01T09:00:00

[[schedules]]
name = "weekdays"
timezone = "America/New_York"
users = ["U0CAT"]
shift = "1d"
handoff = 2026-11-02T09:00:00
restrict = { days = ["mon", "tue", "wed", "thu", "fri"], hours = "09:00-17:00" }
fallback = ["U0LEAD"]
"""


def _run(tmp_path: Path, *args: str, policy: str = POLICY) -> subprocess.CompletedProcess[str]:
    (tmp_path / "policy.toml").write_text(policy)
    env = {
        **os.environ,
        "INCIDENT_BOT_CONFIG": str(tmp_path / "policy.toml"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "oncall", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_show_check_and_export(tmp_path: Path) -> None:
    shown = _run(tmp_path, "show", "primary", "--days", "4")
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines() if line.endswith("rotation")]
    assert len(rows) >= 4 and all(" 09:00 " in row for row in rows), shown.stdout
    people = [row.split()[-2] for row in rows]
    assert all(a != b for a, b in itertools.pairwise(people)), "turns alternate"

    checked = _run(tmp_path, "check", "--days", "7")
    assert checked.returncode == 1, "the weekday schedule has gaps"
    assert "primary: no gaps, no overlaps" in checked.stdout
    assert "weekdays: gap" in checked.stdout and "the fallback U0LEAD is paged" in checked.stdout
    only_primary = POLICY.split('[[schedules]]\nname = "weekdays"')[0]
    assert _run(tmp_path, "check", policy=only_primary).returncode == 0

    exported = _run(tmp_path, "export", "primary", "--ical", "--days", "3")
    assert exported.returncode == 0, exported.stderr
    events = icalendar.Calendar.from_ical(exported.stdout).walk("VEVENT")
    assert len(events) >= 3 and all(str(e["summary"]).startswith("On call (primary): U0") for e in events)
    assert all(e["dtend"].dt - e["dtstart"].dt in (timedelta(hours=23), timedelta(hours=24)) for e in events)

    unknown = _run(tmp_path, "show", "nosuch")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "No schedule called `nosuch` (primary, weekdays)" in unknown.stderr


def test_stats_count_pages_per_person_and_outside_working_hours() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    pages = [
        ("U0ANA", datetime(2026, 11, 23, 10, 0, tzinfo=berlin)),  # Monday 10:00: working hours
        ("U0ANA", datetime(2026, 11, 23, 23, 0, tzinfo=berlin)),  # Monday night
        ("U0ANA", datetime(2026, 11, 28, 12, 0, tzinfo=berlin)),  # Saturday
        ("U0BEN", datetime(2026, 11, 24, 8, 30, tzinfo=UTC)),  # 09:30 in Berlin
    ]
    load = oncall_load(pages, {"U0ANA": berlin, "U0BEN": berlin})
    assert [(r.user, r.pages, r.outside_hours) for r in load] == [("U0ANA", 3, 2), ("U0BEN", 1, 0)]
    text = report([], datetime(2026, 11, 1, tzinfo=UTC), "30d", "table", load)
    assert "On-call load" in text and "U0ANA   3      2" in text


def test_an_error_quoting_what_was_typed_cannot_drive_the_terminal(tmp_path: Path) -> None:
    done = _run(tmp_path, "show", "prim\x1b[2J\x1b[31mary\u202e", "--days", "2")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "\x1b" not in done.stderr and "\u202e" not in done.stderr, done.stderr
    assert "prim\\x1b[2J\\x1b[31mary\\u202e" in done.stderr, done.stderr
