"""The words of the bot's messages: the default templates shipped in `messages/templates/`, a team's own
`[templates] dir` over them, checked at start against sample incidents, rendered with an incident's
variables and custom fields (falling back to the default file when a team's fails on real data)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.policy import Policy
from domain.fields import Value
from domain.records import Incident
from domain.severity import Severity, Status
from messages.incident import follow_ups
from messages.templating import NAMES, SUFFIX, Source, TemplateError, Templates
from messages.text import escape
from messages.variables import (
    FieldSpec,
    incident_vars,
    redacted,
    resolution_vars,
    shown_fields,
    update_vars,
)
from runtime.clock import Clock
from services import samples
from storage import models
from storage.db import Database
from storage.fields import FieldRepo

log = logging.getLogger(__name__)

DEFAULTS = Path(__file__).resolve().parent.parent / "messages" / "templates"
MAX_FILE = 100_000
# Where each message shows fields: the `[[fields]] show` value its `shown_fields` holds.
PLACES = {"initial": "initial", "announce": "announcement"}
# Messages read outside the incident's channel: a private incident's variables are redacted in them.
REDACTED = frozenset({"announce"})
_FILE = re.compile(
    rf"^(?P<name>[a-z_]+)(?:\.service-(?P<service>[a-z0-9][a-z0-9_-]*))?(?:\.(?P<sev>sev[1-4]))?{SUFFIX}$"
)

Extras = Callable[[Incident], dict[str, Any]]
SAMPLE_AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _sample_update(incident: Incident) -> dict[str, Any]:
    at = SAMPLE_AT + timedelta(minutes=20)
    upd = models.IncidentUpdate(
        author_id="U0SAMPLE2", status="identified", text="Rolled back the deploy.", posted_at=at
    )
    return {"update": update_vars(upd, Status.INVESTIGATING)}


# Each message's variables besides `incident` and `shown_fields`, as sample values: start-up renders
# every file of a name in this table with them (a name not in it is only compiled). One entry per name.
SAMPLES: dict[str, Extras] = {
    "initial": lambda incident: {},
    "update": _sample_update,
    "resolution": lambda incident: resolution_vars("Rolled back the deploy.", follow_ups(incident)),
    "announce": lambda incident: {},
    "page": samples.page,
    "reminder": samples.reminder,
    "runbook_card": samples.runbook_card,
}


def _sources(folder: Path, shown: Path | None = None) -> dict[str, Source]:
    out: dict[str, Source] = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        if path.stat().st_size > MAX_FILE:
            raise ConfigError(f"{path}: larger than {MAX_FILE} bytes")
        out[path.name] = Source(path.name, path.read_text(encoding="utf-8"), str(shown or folder / path.name))
    return out


def own_folder(policy: Policy, base: Path | None) -> Path | None:
    """The team's template folder (`[templates] dir`, relative to the policy file), if set."""
    if not policy.templates.dir:
        return None
    path = Path(policy.templates.dir).expanduser()
    return path if path.is_absolute() or base is None else base / path


def load_templates(policy: Policy, base: Path | None) -> Templates:
    """The defaults with the team's files over them; ConfigError (one line, file:line) when one is
    unreadable or does not compile. Blocking file reads: call it before the loop serves anything."""
    folder = own_folder(policy, base)
    try:
        own = _sources(folder) if folder is not None else {}
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"templates.dir: {folder}: not a folder")
        return Templates(_sources(DEFAULTS), own)
    except TemplateError as exc:
        raise ConfigError(f"{exc.where}: {_line(exc.problem)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"templates.dir: {folder}: cannot read ({exc})") from None


def specs(policy: Policy) -> tuple[FieldSpec, ...]:
    """The policy's custom fields, as templates see them."""
    return tuple(FieldSpec(f.name, f.type, f.title, tuple(f.show)) for f in policy.fields)


def variables(
    name: str,
    incident: Incident,
    fields: tuple[FieldSpec, ...],
    values: Mapping[str, Value],
    now: datetime | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """What `name` is rendered with: `incident` (redacted for a private incident where `name` is read
    outside its channel), `shown_fields` for the message's place, and `extra`."""
    hidden = incident.private and name in REDACTED
    found = incident_vars(incident, fields, {} if hidden else values, now)
    place = PLACES.get(name)
    shown = shown_fields(fields, values, place) if place and not hidden else []
    return {"incident": redacted(found) if hidden else found, "shown_fields": shown, **extra}


def _line(problem: str) -> str:
    return " ".join(problem.split())


def sample_incidents(
    policy: Policy, severity: Severity = Severity.SEV2, service: str | None = None
) -> list[tuple[Incident, dict[str, Value]]]:
    """Incidents to check a template against, with their field values: open with every field set (of
    `service`, else the policy's first), resolved (declared by an alert: no commander, impact or runbook;
    of `service` only) with every field unset, and a private one."""
    set_all, named = sample_values(policy), service or next((s.name for s in policy.services), "checkout")

    def one(number: int, **data: Any) -> Incident:
        fields = dict(
            id=number, team_id="T0SAMPLE", number=number, private=False, channel_id="C0SAMPLE",
            channel_name="incident-sample", title="Checkout API returns 500s", impact="Customers cannot pay",
            severity=severity, status="investigating", commander_id="U0SAMPLE1", declared_by="U0SAMPLE1",
            declared_at=SAMPLE_AT, next_update_due=SAMPLE_AT + timedelta(minutes=30), service=named,
            runbook_url="https://runbooks.example.com/checkout",
        )  # fmt: skip
        return models.Incident(**{**fields, **data})

    resolved = SAMPLE_AT + timedelta(hours=1, minutes=5)
    closed = one(
        5, declared_by=None, commander_id=None, impact=None, status="resolved", resolved_at=resolved,
        summary="Rolled back the deploy.", postmortem_due_at=resolved + timedelta(days=7), runbook_url=None,
        next_update_due=None, service=service,
    )  # fmt: skip
    return [(one(4), set_all), (closed, {}), (one(6, private=True), set_all)]


def sample_values(policy: Policy) -> dict[str, Value]:
    """A value of its type for every field: a select's first option, a multi-select's first two."""
    samples: dict[str, Value] = {
        "number": 3.0,
        "user": "U0SAMPLE3",
        "link": "https://tickets.example.com/T-1",
    }
    out: dict[str, Value] = {}
    for f in policy.fields:
        if f.type == "select":
            out[f.name] = f.options[0]
        elif f.type == "multi_select":
            out[f.name] = list(f.options[:2])
        else:
            out[f.name] = samples.get(f.type, "Sample text")
    return out


def check(templates: Templates, policy: Policy) -> list[TemplateError]:
    """Every file in use rendered against the sample incidents with its name's sample variables: the
    problems, one per file (`path:line`). A workflow's own template (`post = { template = … }`) is in use."""
    fields = specs(policy)
    problems: list[TemplateError] = []
    used = workflow_templates(policy)
    for file, source in sorted(templates.sources.items()):
        m = _FILE.match(file)
        if m is None or (m["name"] not in NAMES and m["name"] not in used):
            known = ", ".join(NAMES)
            problems.append(TemplateError(f"{source.path}:1", f"not a template the bot uses ({known})"))
            continue
        name, sample = m["name"], SAMPLES.get(m["name"]) or (_sample_workflow if m["name"] in used else None)
        if sample is None:
            continue
        severity = Severity(m["sev"].upper()) if m["sev"] else Severity.SEV2
        for incident, values in sample_incidents(policy, severity, m["service"]):
            try:
                templates.render_file(
                    file, variables(name, incident, fields, values, SAMPLE_AT, sample(incident))
                )
            except TemplateError as exc:
                problems.append(TemplateError(exc.where, _line(exc.problem)))
                break
    return problems


def _sample_workflow(incident: Incident) -> dict[str, Any]:
    return {"workflow": workflow_vars("sev1-bridge", "severity_changed", ("SEV2",), ("SEV1",))}


def workflow_vars(
    name: str, on: str, before: tuple[str, ...] | None = None, after: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """`workflow` in a workflow's words: its name, its trigger, and what changed (`from`, `to`)."""
    return {"name": name, "on": on, "from": ", ".join(before or ()), "to": ", ".join(after or ())}


def workflow_templates(policy: Policy) -> set[str]:
    """The template files' names the policy's workflows say their words with."""
    return {t for wf in policy.workflows for step in wf.do if (t := getattr(step, "template", None))}


def workflow_problems(
    templates: Templates, policy: Policy, where: Sequence[str] = (), folder: Path | None = None
) -> list[str]:
    """Each workflow step's words checked as at start, one line per mistake naming the key (`where`:
    where each workflow is written): inline text (`text`) compiled and rendered against the sample
    incidents, a `template`'s file in use."""
    out: list[str] = []
    fields = specs(policy)
    at = list(where) or [f"workflows[{i}]" for i in range(len(policy.workflows))]
    for i, wf in enumerate(policy.workflows):
        for j, step in enumerate(wf.do):
            key = f"{at[i]}.do[{j}].{step.KIND}"
            name, text = getattr(step, "template", None), getattr(step, "text", None)
            if name in NAMES:
                out.append(f"{key}.template: {name} is one of the bot's own messages; name your own file")
            elif name and not templates.files(name):
                where = f" in {folder}" if folder else " (no [templates] dir is set)"
                out.append(f"{key}.template: no template {name}{SUFFIX}{where}")
            if not text:
                continue
            for incident, values in sample_incidents(policy):
                found = variables("workflow", incident, fields, values, SAMPLE_AT, _sample_workflow(incident))
                try:
                    templates.render_text(text, found, f"{key}.text")
                except TemplateError as exc:
                    out.append(f"{exc.where}: {_line(exc.problem)}")
                    break
    return out


class Wordings:
    """Every workspace policy's templates (the top level's, each `[workspaces."T…"]`'s), read and
    checked once at start."""

    def __init__(self, policy: Policy, base: Path | None) -> None:
        self.base = base
        self._by_folder: dict[Path | None, Templates] = {}
        for _prefix, each, where in policy.tables():
            folder = own_folder(each, base)
            if folder not in self._by_folder:
                self._by_folder[folder] = load_templates(each, base)
            problems = check(self._by_folder[folder], each)
            if problems:
                raise ConfigError(str(problems[0]))
            lines = workflow_problems(self._by_folder[folder], each, where, folder)
            if lines:
                raise ConfigError("\n".join(lines))

    def of(self, policy: Policy) -> Templates:
        """The templates of one workspace's policy."""
        return self._by_folder[own_folder(policy, self.base)]


class Wording:
    """One workspace's templates and fields: the sections of a message for an incident."""

    def __init__(
        self, templates: Templates, policy: Policy, db: Database, clock: Clock | None = None
    ) -> None:
        self.templates, self.policy, self.db, self.clock = templates, policy, db, clock
        self.specs = specs(policy)
        self._defaults: Templates | None = None

    async def sections(self, name: str, incident: Incident, **extra: Any) -> list[str]:
        """`name` rendered for `incident` (its severity's and service's variant first), with `extra`
        variables (`update`, `summary`, `level`, `person`…); the default file when the team's fails."""
        values: dict[str, Value] = {}
        if self.specs:
            async with self.db.session() as s:
                values = await FieldRepo(s).of(incident.id)
        now = self.clock.now() if self.clock else None
        found = variables(name, incident, self.specs, values, now, extra)
        sev, service = incident.severity.value, incident.service
        try:
            return self.templates.render(name, found, sev, service)
        except TemplateError as exc:
            log.warning(
                "template %s: %s; using the default %s%s", exc.where, _line(exc.problem), name, SUFFIX
            )
        try:
            return self.defaults.render(name, found, sev, service)
        except TemplateError as exc:  # a default failing is a bug: the message still goes out
            log.error("default template %s: %s", exc.where, _line(exc.problem))
            return [escape(f"{incident.ref} ({sev})")]

    async def workflow(
        self,
        incident: Incident,
        said: Mapping[str, Any],
        text: str | None,
        template: str | None,
        where: str,
        outside: bool = False,
    ) -> list[str]:
        """A workflow step's words for `incident`: inline `text`, else the `template` file (its
        severity's and service's variant first), with `workflow` = `said`; redacted for a private
        incident when read `outside` its channel. TemplateError when they fail: a team's own words have
        no default to fall back to."""
        hidden = outside and incident.private
        values: dict[str, Value] = {}
        if self.specs and not hidden:
            async with self.db.session() as s:
                values = await FieldRepo(s).of(incident.id)
        now = self.clock.now() if self.clock else None
        found = variables("workflow", incident, self.specs, values, now, {"workflow": said})
        if hidden:
            found["incident"] = redacted(found["incident"])
        if text is not None:
            return self.templates.render_text(text, found, where)
        return self.templates.render(template or "", found, incident.severity.value, incident.service)

    @property
    def defaults(self) -> Templates:
        """The shipped templates alone: what a team's failing file falls back to."""
        if self._defaults is None:
            self._defaults = Templates(self.templates.defaults)
        return self._defaults
