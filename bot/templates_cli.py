"""`incident-bot templates list|show|preview|check`: which message templates are in use (the shipped
defaults, a team's `[templates] dir` over them), a default to copy, a message rendered from a real
incident or a sample, and every file checked as the bot checks it at start."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import teams
from bot.terminal import say, write
from config.errors import ConfigError
from domain.severity import Severity
from messages.templating import NAMES, SECTION_BREAK, SUFFIX

if TYPE_CHECKING:  # the CLI parser imports this module: the rest loads only when the command runs
    from config.policy import Policy
    from config.settings import Settings
    from domain.fields import Value
    from domain.records import Incident
    from messages.templating import Templates


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `templates` command and its list, show, preview and check subcommands."""
    templates = sub.add_parser("templates", help="the message templates: the defaults and the team's own")
    verbs = templates.add_subparsers(dest="templates_command", required=True, metavar="ACTION")
    listed = verbs.add_parser("list", help="each template, its files in use, default or overridden")
    show = verbs.add_parser("show", help="print a default template, to copy into [templates] dir")
    show.add_argument("name", help=f"one of {', '.join(NAMES)}")
    preview = verbs.add_parser(
        "preview",
        help="print a message's text as the bot would post it, for a real incident or a sample",
        description="Render a template as the bot would (the most specific variant for the severity and "
        "service, values escaped) and print its sections, separated by --- lines. Without --incident "
        "a sample incident is used, with every field set.",
    )
    preview.add_argument("name", help=f"one of {', '.join(NAMES)}")
    preview.add_argument("--incident", metavar="N", help="an incident in the database: INC-<n> or <n>")
    preview.add_argument("--severity", type=severity_argument, metavar="sevN", help="as if at this severity")
    check = verbs.add_parser(
        "check",
        help="render every template in use against sample incidents; exit 1 with path:line on errors",
    )
    for each in (listed, preview, check):
        teams.add_argument(each)


def severity_argument(text: str) -> Severity:
    """`--severity sevN` (or P0–P3) on the command line."""
    found = Severity.parse(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a severity: sev1, sev2, sev3 or sev4")
    return found


async def run(args: argparse.Namespace, settings: Settings, policy: Policy) -> int:
    """Carry out a `templates` subcommand; exit status."""
    verb = args.templates_command
    if verb == "show":
        return show(args.name)
    base = settings.policy_folder()
    own = policy.of(args.team) if args.team else policy
    if verb == "check":
        return check(own if args.team else policy, base, every=not args.team)
    from services.wording import load_templates

    templates = load_templates(own, base)
    if verb == "list":
        write(listing(templates))
        return 0
    return await preview(settings, own, templates, args)


def _name(name: str) -> str:
    name = name.removesuffix(SUFFIX)
    if name not in NAMES:
        raise ConfigError(f"no template {name!r}: the templates are {', '.join(NAMES)}")
    return name


def show(name: str) -> int:
    """Print the shipped default of `name`."""
    from services.wording import DEFAULTS

    write((DEFAULTS / f"{_name(name)}{SUFFIX}").read_text(encoding="utf-8"))
    return 0


def listing(templates: Templates) -> str:
    """Each template name with its files in use, most specific first: default or overridden, and where."""
    rows = [("TEMPLATE", "FILE", "FROM", "PATH")]
    for name in NAMES:
        for file in templates.files(name):
            mine = file in templates.own
            rows.append((name, file, "overridden" if mine else "default", templates.sources[file].path))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r[:3], width, strict=True)) + "  " + r[3] for r in rows
    ]
    count = len(templates.own)
    lines.append(f"{count} file{'' if count == 1 else 's'} of the team's own in use")
    return "\n".join(lines) + "\n"


def check(policy: Policy, base: Path | None, *, every: bool) -> int:
    """Every file in use (of each workspace policy when `every`) rendered against the samples; a line
    `path:line: problem` per error, exit 1 when there is one."""
    from services.wording import check as problems_of
    from services.wording import load_templates, own_folder

    errors: list[str] = []
    checked: dict[Path | None, int] = {}
    for each in (policy, *policy.workspaces.values()) if every else (policy,):
        try:
            templates = load_templates(each, base)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        checked[own_folder(each, base)] = len(templates.sources)
        errors += [str(p) for p in problems_of(templates, each) if str(p) not in errors]
    for line in errors:
        say(line, sys.stderr)
    files = sum(checked.values())
    say(f"{files} template files checked: {len(errors)} with errors")
    return 1 if errors else 0


async def preview(settings: Settings, policy: Policy, templates: Templates, args: argparse.Namespace) -> int:
    """Print `args.name` rendered for `--incident`, else for a sample incident."""
    from datetime import UTC, datetime

    from messages.templating import TemplateError
    from services.wording import SAMPLE_AT, SAMPLES, sample_incidents, specs, variables

    name = _name(args.name)
    if args.incident:
        incident, values, extra = await _real(settings, args.incident, args.team, name)
    else:
        incident, values = sample_incidents(policy, args.severity or Severity.SEV2)[0]
        extra = {}
    if args.severity:
        incident.severity = args.severity
    sample = SAMPLES.get(name)
    extra = {**(sample(incident) if sample else {}), **extra}
    now = datetime.now(UTC) if args.incident else SAMPLE_AT
    file = templates.pick(name, incident.severity.value, incident.service)
    say(f"# {templates.sources[file].path}", sys.stderr)
    try:
        found = templates.render_file(file, variables(name, incident, specs(policy), values, now, extra))
    except TemplateError as exc:
        say(str(exc), sys.stderr)
        return 1
    write(f"\n{SECTION_BREAK}\n".join(found) + "\n")
    return 0


async def _real(
    settings: Settings, ref: str, given_team: str | None, name: str
) -> tuple[Incident, dict[str, Value], dict[str, Any]]:
    """The incident `ref` from the database, its field values and the message's own variables from its
    records where it has them (its last update, its summary)."""
    from bot.preflight import existing_database
    from messages.incident import follow_ups
    from messages.variables import resolution_vars, update_vars
    from storage.fields import FieldRepo
    from storage.repositories import IncidentRepo

    async with existing_database(settings.database_url) as (db, migrated):
        if not migrated:
            raise ConfigError(f"--incident: no incident {ref} (the database has no incidents yet)")
        team = await teams.pick(db, given_team)
        async with db.session() as s:
            repo = IncidentRepo(s, team)
            incident = await repo.by_ref(ref)
            if incident is None:
                raise ConfigError(f"--incident: no incident {ref} (give INC-<n> or <n>)")
            values = await FieldRepo(s).of(incident.id)
            last = await repo.last_update(incident.id)
    extra: dict[str, Any] = {}
    if name == "update" and last is not None:
        extra["update"] = update_vars(last)
    if name == "resolution" and incident.resolved_at is not None:
        extra.update(resolution_vars(incident.summary, follow_ups(incident)))
    return incident, values, extra
