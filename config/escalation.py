"""Escalation in the policy file: the levels L1..Ln, when each falls due, how far each severity
reaches, and a service's own escalation (its schedule at L1, its runbook's path)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, field_validator, model_validator

from config.fields import Strict, to_duration
from config.integrations import check_env_name
from domain.catalog import Service
from domain.severity import Severity

SEVERITY_KEYS = tuple(severity.key for severity in Severity)


ACK_TIMEOUT = "ack_timeout"


def _after(value: Any) -> Any:
    return value if value == ACK_TIMEOUT else to_duration(value)


After = Annotated[timedelta | Literal["ack_timeout"], BeforeValidator(_after)]


class Level(Strict):
    """One escalation level: who is paged (users, a user group, or whoever is on call on a schedule),
    and how long after declaration (or `"ack_timeout"`: the severity's time to acknowledge, skipped
    when the incident was acknowledged by then)."""

    name: str
    title: str = ""
    users: tuple[str, ...] = ()
    usergroup: str | None = None
    # A user group by its handle (`@payments-leads`), as a service's runbook names it.
    handle: str | None = None
    schedule: str | None = None
    after: After = timedelta(0)
    # The name of the environment variable holding this level's PagerDuty Events v2 routing key.
    pagerduty_routing_key: str | None = None

    @field_validator("pagerduty_routing_key")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return check_env_name(value)

    @property
    def named(self) -> str:
        """`L2 Team lead`, or `L2` for a level without a title."""
        return f"{self.name} {self.title}".strip()

    @property
    def titled(self) -> str:
        """`L2 (Team lead)`, or `L2` for a level without a title."""
        return f"{self.name} ({self.title})" if self.title else self.name


DEFAULT_LEVELS = (
    Level(name="L1", title="On-call engineer", after=timedelta(0)),
    Level(name="L2", title="Team lead", after=timedelta(minutes=30)),
    Level(name="L3", title="Engineering manager", after=timedelta(hours=1)),
    Level(name="L4", title="CTO/VP", after=timedelta(hours=2)),
)


class Reach(Strict):
    """The highest level paged for each severity."""

    sev1: str = "L4"
    sev2: str = "L3"
    sev3: str = "L2"
    sev4: str = "L1"


class Escalation(Strict):
    """Ordered levels L1..Ln and how far each severity reaches."""

    levels: tuple[Level, ...] = DEFAULT_LEVELS
    reach: Reach = Reach()

    @model_validator(mode="before")
    @classmethod
    def _default_reach(cls, data: Any) -> Any:
        # With custom levels and no [escalation.reach], cap the runbook defaults at the last level.
        if isinstance(data, dict) and "levels" in data and "reach" not in data:
            levels = data["levels"]
            if isinstance(levels, list | tuple) and levels and all(isinstance(x, dict) for x in levels):
                names = [str(x.get("name")) for x in levels]
                top = {"sev1": 3, "sev2": 2, "sev3": 1, "sev4": 0}
                data = {**data, "reach": {k: names[min(i, len(names) - 1)] for k, i in top.items()}}
        return data

    @model_validator(mode="after")
    def _check(self) -> Escalation:
        names = [lvl.name for lvl in self.levels]
        if len(set(names)) != len(names):
            raise ValueError("level names must be unique")
        afters = [lvl.after for lvl in self.levels if isinstance(lvl.after, timedelta)]
        if afters != sorted(afters):
            raise ValueError("levels must be ordered by `after`")
        for lvl in self.levels:
            if lvl.schedule and (lvl.users or lvl.usergroup):
                raise ValueError(f"level {lvl.name}: give schedule, or users/usergroup, not both")
        for key in SEVERITY_KEYS:
            if getattr(self.reach, key) not in names:
                raise ValueError(f"reach.{key} names unknown level {getattr(self.reach, key)!r}")
        return self

    def reach_index(self, severity: Severity) -> int:
        """Index of the highest level a severity pages."""
        target = getattr(self.reach, severity.key)
        return [lvl.name for lvl in self.levels].index(target)


def for_service(escalation: Escalation, service: Service | None) -> Escalation:
    """The escalation of a service's incidents: its schedule pages at L1, and its runbook's path
    says who each later level is (a user group handle it names) and after how long. Reach and
    everything the runbook leaves out stay the policy's."""
    if service is None or not (service.schedule or service.escalation):
        return escalation
    levels = list(escalation.levels)
    if service.schedule:
        levels[0] = levels[0].model_copy(
            update={"schedule": service.schedule, "users": (), "usergroup": None, "handle": None}
        )
    for step in service.escalation:
        index = step.level - 1
        if not 0 < index < len(levels):
            continue  # L1 is the service's schedule; a level past the policy's last has no one to page
        update: dict[str, Any] = {}
        if step.after is not None:
            update["after"] = step.after
        if step.handle:
            update |= {"handle": step.handle, "users": (), "usergroup": None, "schedule": None}
        if step.who:
            update["title"] = step.who
        levels[index] = levels[index].model_copy(update=update)
    return escalation.model_copy(update={"levels": tuple(levels)})
