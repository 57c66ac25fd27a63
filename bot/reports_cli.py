"""`incident-bot export` (a postmortem draft or JSON) and `incident-bot stats` (MTTA, MTTR, load, by
severity or by service)."""

from __future__ import annotations

import argparse
import sys

from bot import teams
from bot.terminal import say, write
from config.errors import ConfigError
from config.policy import Policy
from config.settings import Settings


async def run(args: argparse.Namespace, settings: Settings, policy: Policy) -> int:
    """Carry out `export` or `stats`."""
    if args.command == "export":
        return await export(settings, policy, args.incident, args.format, args.team)
    return await stats(settings, policy, args.since, args.format, args.team, args.by)


async def export(settings: Settings, policy: Policy, ref: str, fmt: str, given_team: str | None) -> int:
    from bot.preflight import existing_database
    from services.exports import JsonFormat, MarkdownFormat, export_of, pieces

    async with existing_database(settings.database_url) as (db, migrated):
        if not migrated:
            say(f"incident-bot: no incident {ref} (the database has no incidents yet)", sys.stderr)
            return 2
        team = await teams.pick(db, given_team)
        found = await export_of(db, team, ref)
        if found is None:
            say(f"incident-bot: no incident {ref} (give an incident channel id, INC-<n> or <n>)", sys.stderr)
            return 2
        policy = policy.of(team)
        if policy.schedules:
            from dataclasses import replace
            from datetime import UTC, datetime

            from bot.oncall_cli import oncall_service

            inc = found.data.incident
            async with oncall_service(settings, policy, team) as oncall:
                end = inc.resolved_at or datetime.now(UTC)
                found.data = replace(found.data, oncall=await oncall.during(inc.declared_at, end))
        # Written as it is read, a page at a time: a timeline of any length is never held whole.
        async for piece in pieces(
            db, found, MarkdownFormat(found) if fmt == "markdown" else JsonFormat(found)
        ):
            write(piece)
        if fmt == "json":
            write("\n")
    return 0


async def stats(
    settings: Settings, policy: Policy, window: str, fmt: str, given_team: str | None, by: str = "severity"
) -> int:
    from datetime import UTC, datetime

    from bot.preflight import existing_database
    from domain.durations import parse_duration
    from services import stats as figures

    try:
        span = parse_duration(window)
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    since = datetime.now(UTC) - span
    async with existing_database(settings.database_url) as (db, migrated):
        team = await teams.pick(db, given_team) if migrated else ""
        incidents = await figures.load(db, team, since) if migrated else []
        pages = await figures.load_pages(db, team, since) if migrated else []
        names, tzs = await figures.load_people(db, team, (u for u, _ in pages)) if migrated else ({}, {})
    own = policy.of(team)
    load = figures.oncall_load(pages, figures.zones_of(own, tzs), names)
    write(figures.report(incidents, since, window, fmt, load, by, (s.name for s in own.services)))
    return 0
