"""The incident policy from the TOML file: announce channel, escalation levels, cadences."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from config.aftercare import Channels, Postmortem, Trackers
from config.announce import AnnounceRule, unknown_service
from config.custom_fields import CustomField, TemplatesConfig
from config.errors import ConfigError
from config.escalation import ACK_TIMEOUT, Escalation, for_service
from config.fields import Duration, OptionalDuration, Strict
from config.integrations import Delivery, PagerDuty, Statuspage, Webhook, check_env_name
from config.keys import did_you_mean
from config.oncall import AckTimeout, OnCall, Schedule
from config.permissions import Permission, Who
from config.services import ServiceEntry
from config.workflows import Workflow, labels, merged, problems
from domain.catalog import Service
from domain.redact import redact_urls
from domain.severity import VALID_SEVERITIES, Severity


class Updates(Strict):
    """How often the commander owes a status update, by severity (`none` = never)."""

    sev1: OptionalDuration = timedelta(minutes=15)
    sev2: OptionalDuration = timedelta(minutes=30)
    sev3: OptionalDuration = timedelta(hours=24)
    sev4: OptionalDuration = None

    def cadence(self, severity: Severity) -> timedelta | None:
        """The update interval of a severity."""
        return getattr(self, severity.key)


class Timeline(Strict):
    """Which reactions put a message on the timeline."""

    emoji: tuple[str, ...] = ("pushpin",)


def _severity(value: Any) -> Severity:
    severity = value if isinstance(value, Severity) else Severity.parse(str(value))
    if severity is None:
        raise ValueError(f"unknown severity {value!r} (use {VALID_SEVERITIES})")
    return severity


SeverityName = Annotated[Severity, BeforeValidator(_severity)]


class Alertmanager(Strict):
    """How Alertmanager's `severity` label maps to incident severities, and how long after a human
    resolved a group's incident its alerts still firing are reported there instead of declaring anew."""

    severity_map: dict[str, SeverityName] = Field(
        default_factory=lambda: {
            "critical": Severity.SEV1,
            "error": Severity.SEV2,
            "warning": Severity.SEV3,
            "info": Severity.SEV4,
        }
    )
    default_severity: SeverityName = Severity.SEV3
    reopen_window: Duration = timedelta(hours=1)


class _Permissions(Strict):
    """Who may do what to an incident: `anyone` (in its channel), or only its `responders`: the
    commander, the holders of its roles, the people on the escalation levels and the members of
    `responders_usergroup`. One field a Permission, defaulting to its `default`."""

    responders_usergroup: str | None = Field(default=None, pattern=r"^S[A-Z0-9]+$")

    def who(self, permission: Permission) -> Who:
        """Who may do `permission`: "anyone" or "responders"."""
        return getattr(self, permission.value)  # type: ignore[no-any-return]


Permissions = create_model(
    "Permissions",
    __base__=_Permissions,
    __module__=__name__,
    __doc__=_Permissions.__doc__,
    **{p.value: (Who, p.default) for p in Permission},  # type: ignore[call-overload]
)


class Policy(Strict):
    """Everything the incident process needs to know, from `incident-bot.toml`."""

    announce_channel: str = "#incidents"
    announce: tuple[AnnounceRule, ...] = ()
    channel_prefix: str = Field(default="incident", pattern=r"^[a-z0-9][a-z0-9_-]{0,20}$")
    escalation: Escalation = Escalation()
    updates: Updates = Updates()
    timeline: Timeline = Timeline()
    alertmanager: Alertmanager = Alertmanager()
    webhooks: tuple[Webhook, ...] = ()
    statuspage: Statuspage | None = None
    pagerduty: PagerDuty = PagerDuty()
    delivery: Delivery = Delivery()
    permissions: Permissions = Permissions()
    schedules: tuple[Schedule, ...] = ()
    oncall: OnCall = OnCall()
    ack_timeout: AckTimeout = AckTimeout()
    postmortem: Postmortem = Postmortem()
    channels: Channels = Channels()
    trackers: Trackers = Trackers()
    services: tuple[ServiceEntry, ...] = ()
    fields: tuple[CustomField, ...] = ()
    templates: TemplatesConfig = TemplatesConfig()
    workflows: tuple[Workflow, ...] = ()
    # Only in a `[workspaces."T…"]` table: the variable holding that workspace's Alertmanager token.
    alertmanager_token_env: str | None = None
    # `[workspaces."T…"]`: each workspace's whole policy, its table merged over the top level.
    workspaces: dict[str, Policy] = Field(default_factory=dict)

    @field_validator("alertmanager_token_env")
    @classmethod
    def _token_env(cls, value: str | None) -> str | None:
        return check_env_name(value)

    @model_validator(mode="after")
    def _schedules(self) -> Policy:
        names = [s.name for s in self.schedules]
        if len(set(names)) != len(names):
            raise ValueError("schedule names must be unique")
        for i, lvl in enumerate(self.escalation.levels):
            if lvl.schedule and lvl.schedule not in names:
                raise ValueError(f"escalation.levels[{i}].schedule names unknown schedule {lvl.schedule!r}")
        services = [s.name for s in self.services]
        if len(set(services)) != len(services):
            raise ValueError("service names must be unique")
        fields = [f.name for f in self.fields]
        if len(set(fields)) != len(fields):
            raise ValueError("field names must be unique")
        hooks = [w.name for w in self.webhooks if w.name]
        if len(set(hooks)) != len(hooks):
            raise ValueError("webhook names must be unique")
        for i, service in enumerate(self.services):
            if service.schedule and service.schedule not in names:
                raise ValueError(f"services[{i}].schedule names unknown schedule {service.schedule!r}")
        unknown = unknown_service(self.announce, services)
        if unknown:
            raise ValueError(unknown)
        return self

    def workflow_problems(self, where: Sequence[str] = ()) -> list[str]:
        """What the workflows name that this policy lacks, one line per mistake (`where`: where each
        workflow is written)."""
        return problems(
            self.workflows,
            labels=where,
            levels=[lvl.name for lvl in self.escalation.levels],
            schedules=[s.name for s in self.schedules],
            webhooks=[w.name for w in self.webhooks],
            fields=self.fields,
            services=[s.name for s in self.services],
        )

    def tables(self) -> list[tuple[str, Policy, list[str]]]:
        """(key prefix, policy, where each of its workflows is written) of the top level and of each
        `[workspaces."T…"]` table."""
        out = [("", self, labels(self.workflows, self.workflows, ""))]
        for team, each in self.workspaces.items():
            prefix = f"workspaces.{team}."
            out.append((prefix, each, labels(self.workflows, each.workflows, prefix)))
        return out

    def field(self, name: str) -> CustomField | None:
        """The `[[fields]]` entry called `name`."""
        return next((f for f in self.fields if f.name == name.strip().lower()), None)

    def for_service(self, service: Service | None) -> Policy:
        """The policy of a service's incidents: its own escalation (schedule at L1, the runbook's path)."""
        escalation = for_service(self.escalation, service)
        return self if escalation is self.escalation else self.model_copy(update={"escalation": escalation})

    def of(self, team_id: str | None) -> Policy:
        """The policy of one workspace: its own table over the top level, else the top level."""
        return self.workspaces.get(team_id or "", self)

    def schedule(self, name: str) -> Schedule | None:
        """The schedule called `name`."""
        return next((s for s in self.schedules if s.name == name), None)

    def level_after(self, index: int, severity: Severity) -> timedelta:
        """How long after the declaration level `index` falls due for an incident of `severity`."""
        after = self.escalation.levels[index].after
        return self.ack_timeout.of(severity) if after == ACK_TIMEOUT else after  # type: ignore[return-value]

    def missing_secrets(self, env: Mapping[str, str]) -> str | None:
        """The first integration secret named in the policy but absent from `env`, as a ConfigError text."""
        for team, policy in self.workspaces.items():
            missing = policy.missing_secrets(env)
            if missing:
                return f"workspaces.{team}.{missing}"
        name = self.alertmanager_token_env
        if name and not env.get(name):
            return f"alertmanager_token_env: environment variable {name} is not set"
        for i, level in enumerate(self.escalation.levels):
            name = level.pagerduty_routing_key
            if name and not env.get(name):
                return f"escalation.levels[{i}].pagerduty_routing_key: environment variable {name} is not set"
        if self.statuspage and not env.get(self.statuspage.api_key_env):
            return f"statuspage.api_key_env: environment variable {self.statuspage.api_key_env} is not set"
        for key, name in self.tracker_secrets():
            if not env.get(name):
                return f"trackers.{key}: environment variable {name} is not set"
        return None

    def tracker_secrets(self) -> list[tuple[str, str]]:
        """(key, environment variable) of every secret the issue trackers read."""
        names: list[tuple[str, str]] = []
        if self.trackers.github:
            gh = self.trackers.github
            names += [
                ("github.token_env", gh.token_env),
                ("github.webhook_secret_env", gh.webhook_secret_env),
            ]
        if self.trackers.jira:
            jira = self.trackers.jira
            names += [("jira.email_env", jira.email_env), ("jira.token_env", jira.token_env)]
        return names


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_TEAM = re.compile(r"^[TE][A-Z0-9]{2,31}$")


def policy_from_dict(data: dict[str, Any], source: str = "config") -> Policy:
    """Validate a parsed TOML document; raise ConfigError naming the first bad key.

    `[workspaces."T…"]` tables override the top level for that workspace: tables merge key by key,
    anything else (arrays such as `escalation.levels` or `schedules`) replaces the top level's, except
    `workflows`, which add to the top level's and replace one by name.
    """
    data = dict(data)
    tables = data.pop("workspaces", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{source}: workspaces: expected tables named by team id")
    if "alertmanager_token_env" in data:
        # Merged into every workspace, one token would open them all.
        raise ConfigError(
            f"{source}: alertmanager_token_env: give each workspace its own, in its "
            '[workspaces."T…"] table (ALERTMANAGER_TOKEN is the token of a single workspace)'
        )
    base, kept, lines = _load(data, source, "")
    top_where = [f"workflows[{i}]" for i in kept]
    placed = {"": top_where}
    said = base.workflow_problems(top_where)
    lines += [f"{source}: {line}" for line in said]
    if isinstance(data.get("workflows"), list):  # the workspaces keep only the top level's that read
        data["workflows"] = [data["workflows"][i] for i in kept]
    workspaces: dict[str, Policy] = {}
    for team, table in tables.items():
        if not _TEAM.match(team):
            raise ConfigError(f"{source}: workspaces.{team}: not a Slack team id (like T0123ABCD)")
        if not isinstance(table, dict) or "workspaces" in table:
            raise ConfigError(f"{source}: workspaces.{team}: expected a table of policy keys")
        if isinstance(table.get("workflows"), list) and isinstance(data.get("workflows"), list):
            table = {**table, "workflows": merged(data["workflows"], table["workflows"])}
        prefix = f"workspaces.{team}."
        workspaces[team], kept, wrong = _load(_merged(data, table), source, prefix)
        where = placed[prefix] = labels(base.workflows, workspaces[team].workflows, prefix, kept, top_where)
        scope = prefix.removesuffix(".") + ": "
        # A kept top-level workflow's mistake that the top level has too is said once, there.
        wrong += [
            f"{source}: {line}"
            for line in workspaces[team].workflow_problems(where)
            if line.removeprefix(scope) not in said
        ]
        lines += wrong
        name = workspaces[team].alertmanager_token_env
        shared = next(
            (t for t, p in workspaces.items() if t != team and name and p.alertmanager_token_env == name),
            None,
        )
        if shared:
            raise ConfigError(
                f"{source}: workspaces.{team}.alertmanager_token_env: {shared} names {name} too; "
                "each workspace needs its own token"
            )
    whole = base.model_copy(update={"workspaces": workspaces}) if workspaces else base
    if lines:
        error = ConfigError("\n".join(sorted(dict.fromkeys(lines), key=_entry)))
        error.partial = (whole, placed)
        raise error
    return whole


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        both_tables = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both_tables else value
    return out


_ENTRY = re.compile(r"^.*?: (.*?)workflows\[(\d+)\]")


def _entry(line: str) -> tuple[str, int]:
    """A mistake's place, to say them in the order the file has them: (workspace, workflow)."""
    found = _ENTRY.match(line)
    return (found.group(1), int(found.group(2))) if found else (line, -1)


class _BadWorkflows(Exception):
    """Workflow entries that do not read: a line per mistake, and which entries."""

    def __init__(self, lines: list[str], indexes: set[int]) -> None:
        super().__init__("\n".join(lines))
        self.lines, self.indexes = lines, indexes


def _load(data: dict[str, Any], source: str, prefix: str) -> tuple[Policy, list[int], list[str]]:
    """The policy with the workflow entries that do not read left out, so what the others name is
    checked too: (policy, the indexes of the entries it has, a line per mistake in the rest)."""
    entries = data.get("workflows")
    everyone = list(range(len(entries))) if isinstance(entries, list) else []
    try:
        return _validate(data, source, prefix), everyone, []
    except _BadWorkflows as bad:
        kept = [i for i in everyone if i not in bad.indexes]
        try:
            policy = _validate({**data, "workflows": [entries[i] for i in kept]}, source, prefix)  # type: ignore[index]
        except ConfigError as exc:  # a mistake elsewhere in the policy as well
            raise ConfigError("\n".join([*bad.lines, str(exc)])) from None
        return policy, kept, bad.lines


def _validate(data: dict[str, Any], source: str, prefix: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also leaves its field missing: the misspelling is the one to name.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        if err["loc"][:1] == ("workflows",):
            # Workflows are said one line per mistake, each misspelling rather than what it left missing.
            misspelt = {e["loc"][:-1] for e in errors if e["type"] == "extra_forbidden"}
            # A list whose items failed is also too short, its failed items left out: the items say it.
            failed = {e["loc"][:n] for e in errors for n in range(len(e["loc"]))}
            shown = [
                e
                for e in errors
                if not (e["type"] == "missing" and e["loc"][:-1] in misspelt)
                and not (e["type"] == "too_short" and e["loc"] in failed)
            ]
            lines = [_said(e, source, prefix) for e in shown if e["loc"][:1] == ("workflows",)]
            indexes = {e["loc"][1] for e in errors if e["loc"][:1] == ("workflows",) and len(e["loc"]) > 1}
            if all(isinstance(i, int) for i in indexes) and indexes:
                raise _BadWorkflows(list(dict.fromkeys(lines)), indexes) from None
            raise ConfigError("\n".join(dict.fromkeys(lines))) from None
        raise ConfigError(_said(err, source, prefix)) from None


def _said(err: Any, source: str, prefix: str) -> str:
    """One validation error as `source: key: what is wrong`."""
    key = _key(tuple(p for p in err["loc"] if not (isinstance(p, str) and "(" in p)))
    msg = redact_urls(err["msg"].removeprefix("Value error, "))  # no URL's path or query, ever
    if err["type"] == "extra_forbidden":
        guess = did_you_mean(Policy, err["loc"])
        msg = f"unknown key; did you mean `{guess}`?" if guess else "unknown key"
    return f"{source}: {prefix}{key}: {msg}"


def load_policy(path: Path | None) -> Policy:
    """Read the policy from a TOML file, or the defaults when there is none."""
    if path is None:
        return Policy()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return policy_from_dict(data, source=str(path))
