"""`incident-bot oncall show <schedule>`, `oncall check`, `oncall export <schedule> --ical`."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import teams
from bot.terminal import write
from config.errors import ConfigError
from domain.errors import IncidentError
from domain.oncall import Shift, gaps, overlaps

if TYPE_CHECKING:  # the CLI parser imports this module: the services load only when `oncall` runs
    from config.policy import Policy
    from config.settings import Settings
    from services.oncall import OnCall


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `oncall` command and its three subcommands."""
    oncall = sub.add_parser("oncall", help="on-call schedules: show, check for gaps, export as iCalendar")
    teams.add_argument(oncall)
    verbs = oncall.add_subparsers(dest="oncall_command", required=True)
    show = verbs.add_parser(
        "show", help="the final schedule (rotation or calendar plus overrides) as a table"
    )
    show.add_argument("schedule")
    show.add_argument("--days", type=_days, default=14, help="how far ahead (default 14)")
    check = verbs.add_parser("check", help="gaps and overlaps of every schedule; exit 1 when there is a gap")
    check.add_argument("--days", type=_days, default=14, help="how far ahead (default 14)")
    export = verbs.add_parser("export", help="the final schedule as an iCalendar feed on standard output")
    export.add_argument("schedule")
    export.add_argument("--ical", action="store_true", required=True, help="iCalendar (the one format)")
    export.add_argument("--days", type=_days, default=90, help="how far ahead (default 90)")


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--days takes a whole number of days, not {text!r}") from None
    if not 1 <= days <= 366:
        raise argparse.ArgumentTypeError("--days must be between 1 and 366")
    return days


async def run(args: argparse.Namespace, settings: Settings, policy: Policy) -> int:
    """Carry out one `oncall` subcommand; exit status."""
    now = datetime.now(UTC)
    end = now + timedelta(days=args.days)
    async with oncall_service(settings, policy, args.team) as oncall:
        policy = oncall.policy
        if not policy.schedules:
            raise ConfigError("no [[schedules]] in the policy file")
        try:
            if args.oncall_command == "show":
                shifts = await oncall.shifts(args.schedule, now, end)
                write(table(args.schedule, policy, shifts))
                return 0
            if args.oncall_command == "export":
                shifts = await oncall.shifts(args.schedule, now - timedelta(days=7), end, fallback=False)
                write(ical(args.schedule, shifts, now))
                return 0
            found_gap = False
            for schedule in policy.schedules:
                shifts = await oncall.shifts(schedule.name, now, end, fallback=False)
                lines, gap = check(schedule.name, policy, shifts, now, end)
                found_gap |= gap
                write("".join(line + "\n" for line in lines))
            return 1 if found_gap else 0
        except IncidentError as exc:
            raise ConfigError(str(exc)) from None


@asynccontextmanager
async def oncall_service(settings: Settings, policy: Policy, team: str | None) -> AsyncIterator[OnCall]:
    """A workspace's OnCall service on the bot's database (migrated), with Slack for e-mail lookups,
    its due calendars refreshed first."""
    import aiohttp
    import httpx

    from bot.app import build_client
    from runtime.clock import SystemClock
    from runtime.metrics import Metrics
    from runtime.slack_ops import SlackOps
    from services.oncall import OnCall
    from storage import migrate
    from storage.db import Database

    db = Database(settings.database_url)
    await db.check()
    try:
        await migrate.upgrade(db)
        team_id = await teams.pick(db, team)
        async with aiohttp.ClientSession() as session, httpx.AsyncClient(timeout=30) as http:
            token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
            slack = SlackOps(build_client(settings, Metrics(), session, token))
            oncall = OnCall(db, slack, policy.of(team_id), SystemClock(), http, team_id)
            await oncall.refresh()  # calendars due (bounded); a failure is logged host-only
            yield oncall
    finally:
        await db.dispose()


def _local(at: datetime, policy: Policy, schedule: str) -> str:
    found = policy.schedule(schedule)
    tz = found.tz if found else UTC
    return at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")


def table(schedule: str, policy: Policy, shifts: list[Shift]) -> str:
    """The shifts as an aligned table, times in the schedule's zone."""
    found = policy.schedule(schedule)
    zone = found.timezone if found else "UTC"
    rows = [("Start", "End", "On call", "From")] + [
        (_local(s.start, policy, schedule), _local(s.end, policy, schedule), ", ".join(s.users), s.source)
        for s in shifts
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return f"Schedule {schedule} ({zone})\n\n" + "\n".join(lines) + "\n"


def check(
    schedule: str, policy: Policy, shifts: list[Shift], start: datetime, end: datetime
) -> tuple[list[str], bool]:
    """Lines naming each gap and overlap; True when there is a gap."""
    found = policy.schedule(schedule)
    fallback = f" (the fallback {', '.join(found.fallback)} is paged)" if found and found.fallback else ""
    holes = gaps(shifts, start, end)
    lines = [
        f"{schedule}: gap {_local(a, policy, schedule)} → {_local(b, policy, schedule)}{fallback}"
        for a, b in holes
    ]
    lines += [
        f"{schedule}: overlap {_local(max(a.start, b.start), policy, schedule)} → "
        f"{_local(min(a.end, b.end), policy, schedule)}: {', '.join(a.users)} and {', '.join(b.users)}"
        for a, b in overlaps(shifts)
    ]
    return (lines or [f"{schedule}: no gaps, no overlaps"]), bool(holes)


def ical(schedule: str, shifts: list[Shift], now: datetime) -> str:
    """The shifts as an iCalendar feed (one event per shift, UTC)."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//incident-bot//on-call//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"On call: {schedule}")
    for s in shifts:
        event = icalendar.Event()
        event.add("uid", f"{schedule}-{int(s.start.timestamp())}-{'-'.join(s.users)}@incident-bot")
        event.add("summary", f"On call ({schedule}): {', '.join(s.users)}")
        event.add("dtstart", s.start)
        event.add("dtend", s.end)
        event.add("dtstamp", now)
        cal.add_component(event)
    return cal.to_ical().decode()
