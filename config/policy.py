"""The incident policy from the TOML file: announce channel, escalation levels, cadences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from config.aftercare import Channels, Postmortem, Trackers
from config.announce import AnnounceRule, unknown_service
from config.custom_fields import CustomField, TemplatesConfig
from config.escalation import ACK_TIMEOUT, Escalation, for_service
from config.fields import Duration, OptionalDuration, Strict
from config.integrations import Delivery, PagerDuty, Statuspage, Webhook, check_env_name
from config.oncall import AckTimeout, OnCall, Schedule
from config.permissions import Permission, Who
from config.services import ServiceEntry
from config.workflows import Workflow, labels, problems
from domain.catalog import Service
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
