"""`incident-bot runbooks check`: every service's runbook read as the bot reads it, what it states,
and what is wrong in it (`path:line: error|warning: …`); exit 1 when any service has an error."""

from __future__ import annotations

import argparse
import asyncio
import json
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.terminal import write
from config.errors import ConfigError, Unavailable
from domain.durations import format_duration
from domain.runbook_checks import Problem, find_problems
from domain.runbooks import Runbook, parse_runbook

if TYPE_CHECKING:  # the CLI parser imports this module: the rest loads only when the command runs
    import httpx

    from config.policy import Policy
    from config.services import ServiceEntry
    from config.settings import Settings
    from domain.catalog import Service
    from services.catalog import Source
    from storage.db import Database


SHOWN = 160  # characters of a name, a who or a link on one report line


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `runbooks` command and its `check` subcommand."""
    runbooks = sub.add_parser("runbooks", help="the services' runbooks ([[services]] in the policy file)")
    verbs = runbooks.add_subparsers(dest="runbooks_command", required=True, metavar="ACTION")
    check = verbs.add_parser(
        "check",
        help="read every service's runbook: what it states and what is wrong (path:line); exit 1 on an error",
        description="Read every service's runbook as the bot does (files relative to the policy file, "
        "URLs within 20 s and 2 MB) and print, per service, its owner, dashboards, failure modes (with "
        "their diagnosis steps), escalation path and experts, then each problem as path:line. Errors "
        "(exit 1): a runbook that cannot be read, no failure modes, text past the 1 MB cap, an "
        "escalation path out of order. Warnings: a failure mode without diagnosis steps, no owner, an "
        "expert without a @handle, a URL that fails while the database holds a copy.",
    )
    check.add_argument("--format", choices=("text", "json"), default="text")


@dataclass(frozen=True)
class Checked:
    """One service's runbook as read: its source (None when unreadable, with why), what it states with
    the policy file's keys over it, and its problems."""

    key: str
    shown: str
    source: Source | None
    unreadable: str
    service: Service
    problems: tuple[Problem, ...]
    overrides: tuple[str, ...]  # the keys the policy file sets over the runbook

    @property
    def errors(self) -> int:
        """How many errors: an unreadable runbook, or problems classed as errors."""
        return bool(self.unreadable) + sum(p.error for p in self.problems)

    @property
    def warnings(self) -> int:
        """How many warnings: a URL's copy used for a failed fetch, or problems classed as warnings."""
        stale = self.source is not None and self.source.error is not None
        return stale + sum(not p.error for p in self.problems)


async def run(args: argparse.Namespace, settings: Settings, policy: Policy) -> int:
    """Carry out `runbooks check`; exit status."""
    import httpx

    from services.catalog import entries

    found = entries(policy)
    if not found:
        raise ConfigError("no [[services]] in the policy file: nothing to check")
    base = settings.policy_folder()
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        db = await _copies(stack, settings) if any(e.is_url for _, e in found) else None
        unique = {entry.runbook: entry for _, entry in found}  # each read once, all at once
        read = await asyncio.gather(*(_read(entry, base, http, db) for entry in unique.values()))
        sources = dict(zip(unique, read, strict=True))
        checked = [_check(key, entry, base, *sources[entry.runbook]) for key, entry in found]
    write(json.dumps(_as_json(checked), indent=2) + "\n" if args.format == "json" else text(checked))
    return 1 if any(c.errors for c in checked) else 0


async def _copies(stack: AsyncExitStack, settings: Settings) -> Database | None:
    """The bot's database, for the last good copies of URL runbooks, when there is one (never made)."""
    from bot.preflight import existing_database

    try:
        db, migrated = await stack.enter_async_context(existing_database(settings.database_url))
    except (ConfigError, Unavailable):
        return None  # without a database a URL is just fetched
    return db if migrated else None


async def _read(
    entry: ServiceEntry, base: Path | None, http: httpx.AsyncClient, db: Database | None
) -> tuple[Source | None, str]:
    """The runbook's text as the bot reads it, or why it cannot be read; a URL's copy is not stored."""
    from services.catalog import UNREADABLE, fetch_runbook, read_file, reason, runbook_path

    try:
        if entry.is_url:
            return await fetch_runbook(http, entry.runbook, db, datetime.now(UTC), keep=False), ""
        return await read_file(runbook_path(entry, base)), ""
    except UNREADABLE as exc:
        return None, reason(exc)


def _check(key: str, entry: ServiceEntry, base: Path | None, source: Source | None, why: str) -> Checked:
    from domain.redact import redact_url
    from services.catalog import merge, runbook_path

    shown = redact_url(entry.runbook) if entry.is_url else str(runbook_path(entry, base))
    runbook = parse_runbook(source.text) if source else Runbook()
    overrides = tuple(k for k in ("owner", "dashboards", "experts") if getattr(entry, k) is not None)
    problems = find_problems(source.text, runbook, overrides) if source else ()
    return Checked(key, shown, source, why, merge(entry, runbook, shown), problems, overrides)


def _after(after: timedelta | None) -> str:
    return "from the start" if after is None else f"after {format_duration(after)}"


def _where(line: int) -> str:
    return f"line {line}" if line else "a Quick Reference row only"


def _steps(n: int) -> str:
    return f"{n} diagnosis step" + ("" if n == 1 else "s")


def text(checked: list[Checked]) -> str:
    """The report for a terminal: each service, what its runbook states, then its problems."""
    out: list[str] = []
    for c in checked:
        out += [f"{c.service.name} ({c.key}): {c.shown}", *_stated(c), ""]
    errors = sum(bool(c.errors) for c in checked)
    warnings = sum(c.warnings for c in checked)
    out.append(
        f"{len(checked)} service{'s' if len(checked) != 1 else ''} checked: "
        f"{errors} with errors, {warnings} warning{'s' if warnings != 1 else ''}"
    )
    return "\n".join(out) + "\n"


def _stated(c: Checked) -> list[str]:
    """One service's lines: what its runbook states (the policy file's keys over it), its problems."""
    s = c.service
    if c.source is None:
        return [f"  {c.shown}: error: {c.unreadable}"]
    out = []
    if c.source.error is not None and c.source.fetched_at is not None:
        when = f"{c.source.fetched_at:%Y-%m-%d %H:%M} UTC"
        out.append(f"  {c.shown}: warning: {c.source.error}; the bot uses its copy fetched {when}")
    said = {
        k: " (from the policy file)" if k in c.overrides else "" for k in ("owner", "dashboards", "experts")
    }
    dashboards = ", ".join(_short(f"{d.name} {d.url}".strip()) for d in s.dashboards)
    experts = ", ".join(_short(f"{e.area} {e.handle}") for e in s.experts)
    out += [
        f"  owner: {_short(s.owner) or 'none'}{said['owner']}",
        f"  dashboards: {dashboards or 'none'}{said['dashboards']}",
        f"  failure modes: {len(s.failure_modes) or 'none'}",
        *(f"    {_short(m.name)}: {_steps(len(m.steps))} ({_where(m.line)})" for m in s.failure_modes),
        "  escalation path:" + ("" if s.escalation else " none (the policy's levels)"),
        *(f"    L{e.level} {_short(e.who)}: {_after(e.after)}" for e in s.escalation),
        f"  experts: {experts or 'none'}{said['experts']}",
        *(f"  {c.shown}:{p.line}: {p.kind}: {p.message}" for p in c.problems),
    ]
    return out


def _short(text: str) -> str:
    """Runbook text on one report line, at most SHOWN characters of it."""
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _as_json(checked: list[Checked]) -> dict[str, Any]:
    services = []
    for c in checked:
        s = c.service
        fetched = c.source.fetched_at if c.source else None
        services.append(
            {
                "name": s.name,
                "key": c.key,
                "runbook": c.shown,
                "readable": c.source is not None,
                "fetched_at": fetched.isoformat() if fetched else None,
                "fetch_error": (c.source.error if c.source else c.unreadable) or None,
                "owner": s.owner or None,
                "dashboards": [{"name": d.name, "url": d.url} for d in s.dashboards],
                "failure_modes": [
                    {"name": m.name, "steps": len(m.steps), "line": m.line} for m in s.failure_modes
                ],
                "escalation": [
                    {
                        "level": e.level,
                        "who": e.who,
                        "after_seconds": None if e.after is None else int(e.after.total_seconds()),
                    }
                    for e in s.escalation
                ],
                "experts": [{"area": e.area, "handle": e.handle} for e in s.experts],
                "problems": [{"line": p.line, "kind": p.kind, "message": p.message} for p in c.problems],
                "errors": c.errors,
                "warnings": c.warnings,
            }
        )
    return {"services": services, "errors": sum(c.errors for c in checked)}
