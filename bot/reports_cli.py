"""`incident-bot export` (a postmortem draft or JSON) and `incident-bot stats` (MTTA, MTTR, load, by
severity, by service or by a custom field)."""

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
        policy = policy.of(team)
        found = await export_of(db, team, ref, policy.fields)
        if found is None:
            say(f"incident-bot: no incident {ref} (give an incident channel id, INC-<n> or <n>)", sys.stderr)
            return 2
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
        own = policy.of(team)
        field = own.field(by.removeprefix(figures.FIELD)) if by.startswith(figures.FIELD) else None
        if by.startswith(figures.FIELD) and field is None:
            say(
                f"incident-bot: stats --by {by}: {_no_field(own, by.removeprefix(figures.FIELD))}", sys.stderr
            )
            return 2
        incidents = await figures.load(db, team, since) if migrated else []
        pages = await figures.load_pages(db, team, since) if migrated else []
        names, tzs = await figures.load_people(db, team, (u for u, _ in pages)) if migrated else ({}, {})
        by_field = None
        if field is not None:
            values = await figures.load_fields(db, incidents, field.name) if migrated else {}
            people = {str(v) for v in values.values()} if field.type == "user" else set()
            known = (await figures.load_people(db, team, people))[0] if people else {}
            by_field = figures.ByField(field, values, known)
    load = figures.oncall_load(pages, figures.zones_of(own, tzs), names)
    services = (s.name for s in own.services)
    write(figures.report(incidents, since, window, fmt, load, by, services, by_field))
    return 0


def _no_field(policy: Policy, name: str) -> str:
    """Why `--by field:<name>` names nothing: the fields there are, and the closest."""
    from domain.spelling import closest

    names = [f.name for f in policy.fields]
    if not names:
        return "the policy has no [[fields]]"
    near = closest(name, names)
    guess = f" (did you mean {near}?)" if near else ""
    return f"no field {name!r}{guess}; fields: {', '.join(names)}"
