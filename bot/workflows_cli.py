"""`incident-bot workflows check|dry-run`: every workspace's `[[workflows]]` checked as the bot checks
them at start (one line per mistake, exit 2), and which workflows an incident event would set off, with
their steps, judged as the bot judges them and changing nothing (no database, no Slack)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot import teams
from bot.templates_cli import severity_argument
from bot.terminal import say
from config.errors import ConfigError
from domain.severity import Severity, Status

if TYPE_CHECKING:  # the CLI parser imports this module: the rest loads only when the command runs
    from config.policy import Policy
    from config.settings import Settings
    from config.workflow_steps import Step
    from config.workflows import Conditions, Workflow
    from domain.workflows import Facts

SHOWN = 80  # characters of a step's text on one line


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `workflows` command and its check and dry-run subcommands."""
    from config.workflows import TRIGGERS

    workflows = sub.add_parser("workflows", help="the [[workflows]] of the policy file: check, dry-run")
    verbs = workflows.add_subparsers(dest="workflows_command", required=True, metavar="ACTION")
    verbs.add_parser(
        "check",
        help="check every workspace's workflows as at start: one line per mistake (exit 2), else a summary",
    )
    dry = verbs.add_parser(
        "dry-run",
        help="print which workflows an incident event would run, and their steps; changes nothing",
        description="Judge every workflow on the trigger --on against an incident as described (the "
        "severity, service, status, privacy and fields given) and print which would run and their "
        "steps, in order. Nothing is queued or sent: no database or Slack is needed.",
    )
    dry.add_argument("--on", required=True, choices=TRIGGERS, metavar="TRIGGER", help=", ".join(TRIGGERS))
    dry.add_argument("--severity", required=True, type=severity_argument, metavar="sevN", help="sev1 … sev4")
    dry.add_argument("--service", help="the incident's service (a [[services]] name)")
    dry.add_argument("--status", choices=[s.value for s in Status], default=Status.INVESTIGATING.value)
    dry.add_argument("--private", action="store_true", help="a private incident")
    dry.add_argument(
        "--field", action="append", default=[], metavar="NAME=VALUE", help="a field's value (repeatable)"
    )
    dry.add_argument("--from", dest="from_", metavar="VALUE", help="for a change: what it was")
    dry.add_argument("--to", metavar="VALUE", help="for a change: what it became")
    dry.add_argument("--role", choices=("commander", "scribe", "comms"), help="for role_assigned")
    dry.add_argument(
        "--changed", metavar="FIELD", help="for field_changed: which field (default: the one --field names)"
    )
    teams.add_argument(dry)


def run(args: argparse.Namespace, settings: Settings, policy: Policy) -> int:
    """Carry out a `workflows` subcommand; exit status."""
    if args.workflows_command == "check":
        return check(settings, policy)
    own = policy.of(args.team) if args.team else policy
    return dry_run(own, args)


def check(settings: Settings, policy: Policy) -> int:
    """Each workflow's words checked against the templates as at start (what the policy names was
    checked when it loaded): one line per mistake on stderr and exit 2, else one line per workflow."""
    from bot.policy_files import words_problems

    errors = words_problems(policy, settings.policy_folder())
    if errors:
        for line in errors:
            say(f"incident-bot: configuration error: {line}", sys.stderr)
        return 2
    for prefix, each, where in policy.tables():
        count = len(each.workflows)
        say(f"{prefix.removesuffix('.') or 'top level'}: {count} workflow{'' if count == 1 else 's'}")
        for wf, at in zip(each.workflows, where, strict=True):
            say(f"  {summary(wf)}" + (" (the top level's)" if ": " in at else ""))
    return 0


def summary(wf: Workflow) -> str:
    """One workflow on one line: its name, trigger, conditions and steps' kinds."""
    kinds, count = ", ".join(step.KIND for step in wf.do), len(wf.do)
    return (
        f"{wf.name}: on {wf.on}, if {conditions(wf.when)}; {count} step{'' if count == 1 else 's'} ({kinds})"
    )


def conditions(cond: Conditions) -> str:
    """A workflow's `if` as words: `severity SEV1, not private true`; `always` when empty."""
    parts: list[str] = []
    for key, value in cond.model_dump(by_alias=True, exclude_none=True, exclude={"not_"}).items():
        if key == "fields":
            parts += [f"fields.{name} {' or '.join(words)}" for name, words in value.items()]
        elif isinstance(value, list | tuple):
            parts.append(f"{key} {' or '.join(str(v) for v in value)}")
        else:
            parts.append(f"{key} {str(value).lower()}")
    if cond.not_ is not None:
        parts.append(f"not ({conditions(cond.not_)})")
    return ", ".join(parts) or "always"


def dry_run(policy: Policy, args: argparse.Namespace) -> int:
    """Print which workflows on `args.on` would run for the incident described, and their steps."""
    from domain.workflows import matches

    facts = _facts(policy, args)
    on = [wf for wf in policy.workflows if wf.on == args.on]
    runs = [wf for wf in on if matches(wf.when, facts)]
    say(f"{args.on}: {len(runs)} of {len(on)} workflow{'' if len(on) == 1 else 's'} on it would run")
    for wf in on:
        if wf not in runs:
            say(f"not {wf.name}: its conditions do not hold (if {conditions(wf.when)})")
            continue
        say(f"run {wf.name} (if {conditions(wf.when)}):")
        for i, step in enumerate(wf.do, 1):
            say(f"  {i}. {describe(step)}")
    return 0


def _facts(policy: Policy, args: argparse.Namespace) -> Facts:
    """The incident the arguments describe, as conditions see it; a ConfigError for a name the policy
    lacks."""
    from domain.fields import FieldValueError, parse
    from domain.workflows import Change, Facts, words

    services = [s.name for s in policy.services]
    if args.service is not None and args.service not in services:
        raise ConfigError(
            f"--service: unknown service {args.service} (known: {', '.join(services) or 'none'})"
        )
    fields: dict[str, tuple[str, ...]] = {}
    for given in args.field:
        name, eq, value = given.partition("=")
        field = policy.field(name)
        if not eq or field is None:
            known = ", ".join(f.name for f in policy.fields) or "none"
            raise ConfigError(f"--field {given}: give NAME=VALUE for a field of the policy (known: {known})")
        if field.type == "user" and value.strip()[:1] in ("U", "W"):
            value = f"<@{value.strip()}>"  # a person by id, as a command line gives one
        try:  # as `/incident set` would take it: an option's own spelling, a number as a number
            found = words(parse(field.type, field.options, value))
        except FieldValueError as exc:
            raise ConfigError(f"--field {given}: {exc}") from None
        if found:
            fields[field.name] = found
    changed = _changed(policy, args, fields)
    change = Change(
        args.on,
        _words(args.on, args.from_, "--from"),
        _words(args.on, args.to, "--to"),
        role=args.role,
        field=changed,
    )
    return Facts(
        severity=args.severity.value,
        service=args.service,
        status=args.status,
        private=args.private,
        fields=fields,
        change=change,
    )


def _changed(policy: Policy, args: argparse.Namespace, fields: dict[str, tuple[str, ...]]) -> str | None:
    """For field_changed, the field that changed: `--changed`, else the only one `--field` gives."""
    if args.on != "field_changed":
        return None
    if args.changed is not None:
        field = policy.field(args.changed)
        if field is None:
            known = ", ".join(f.name for f in policy.fields) or "none"
            raise ConfigError(f"--changed {args.changed}: not a field of the policy (known: {known})")
        return field.name
    return next(iter(fields)) if len(fields) == 1 else None


def _words(on: str, value: str | None, flag: str) -> tuple[str, ...] | None:
    """A change's `--from`/`--to` as the event says it (a severity as SEV1); ConfigError for one the
    change can never have."""
    if value is None:
        return None
    if on == "severity_changed":
        severity = Severity.parse(value)
        if severity is None:
            raise ConfigError(f"{flag} {value}: not a severity (sev1 … sev4)")
        return (severity.value,)
    if on == "status_changed" and value.lower() not in (s.value for s in Status):
        raise ConfigError(f"{flag} {value}: not a status ({', '.join(s.value for s in Status)})")
    return (value.lower() if on == "status_changed" else value,)


def describe(step: Step) -> str:
    """One step on one line, its arguments as the policy gives them."""
    args: dict[str, Any] = step.model_dump(mode="json", exclude_none=True)
    kind = step.KIND
    if kind == "invite":
        return f"invite {', '.join(args['who'])}"
    if kind in ("post", "topic"):
        return f"{kind} {_text(args)}"
    if kind == "dm":
        return f"dm {', '.join(args['to'])}: {_text(args)}"
    if kind == "checklist":
        return f"checklist {_short(args['title'])}: {'; '.join(_short(i, 40) for i in args['items'])}"
    if kind == "bookmark":
        return f"bookmark {_short(args['title'])}: {args['url']}"
    if kind == "page":
        return f"page level {args['level']}" if "level" in args else f"page schedule {args['schedule']}"
    if kind == "assign":
        to = args.get("to") or f"whoever is on call on {args['schedule']}"
        return f"assign {args['role']} to {to}"
    if kind == "webhook":
        return f"webhook {args['name']}"
    if kind == "remind":
        from domain.durations import format_duration

        return f"remind after {format_duration(step.after)}: {_short(args['text'])}"  # type: ignore[attr-defined]
    if kind == "set":
        value = args["value"]
        return f"set {args['field']} = {', '.join(value) if isinstance(value, list) else value}"
    if kind == "severity":
        return f"severity: raise to {args['to']}"
    return f"{kind} {args}"


def _text(args: dict[str, Any]) -> str:
    return f"template {args['template']}.j2" if "template" in args else f"“{_short(args['text'])}”"


def _short(text: str, limit: int = SHOWN) -> str:
    from messages.text import cut

    return cut(" ".join(text.split()), limit)
