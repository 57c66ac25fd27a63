"""The incident policy from the TOML file: announce channel, escalation levels, cadences."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from config.durations import parse_duration
from config.errors import ConfigError
from config.integrations import Delivery, PagerDuty, Statuspage, Webhook, check_env_name
from domain.severity import VALID_SEVERITIES, Severity

SEVERITY_KEYS = tuple(severity.key for severity in Severity)


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("expected a duration string like 30m")
    return parse_duration(value)


def _optional_duration(value: Any) -> timedelta | None:
    if isinstance(value, str) and value.strip().lower() in ("none", "never", "off", ""):
        return None
    return _duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]
OptionalDuration = Annotated[timedelta | None, BeforeValidator(_optional_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    """One escalation level: who is paged, and how long after declaration."""

    name: str
    title: str = ""
    users: tuple[str, ...] = ()
    usergroup: str | None = None
    after: Duration = timedelta(0)
    # The name of the environment variable holding this level's PagerDuty Events v2 routing key.
    pagerduty_routing_key: str | None = None

    @field_validator("pagerduty_routing_key")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return check_env_name(value)


DEFAULT_LEVELS = (
    Level(name="L1", title="On-call engineer", after=timedelta(0)),
    Level(name="L2", title="Team lead", after=timedelta(minutes=30)),
    Level(name="L3", title="Engineering manager", after=timedelta(hours=1)),
    Level(name="L4", title="CTO/VP", after=timedelta(hours=2)),
)


class Reach(_Strict):
    """The highest level paged for each severity."""

    sev1: str = "L4"
    sev2: str = "L3"
    sev3: str = "L2"
    sev4: str = "L1"


class Escalation(_Strict):
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
        afters = [lvl.after for lvl in self.levels]
        if afters != sorted(afters):
            raise ValueError("levels must be ordered by `after`")
        for key in SEVERITY_KEYS:
            if getattr(self.reach, key) not in names:
                raise ValueError(f"reach.{key} names unknown level {getattr(self.reach, key)!r}")
        return self

    def reach_index(self, severity: Severity) -> int:
        """Index of the highest level a severity pages."""
        target = getattr(self.reach, severity.key)
        return [lvl.name for lvl in self.levels].index(target)


class Updates(_Strict):
    """How often the commander owes a status update, by severity (`none` = never)."""

    sev1: OptionalDuration = timedelta(minutes=15)
    sev2: OptionalDuration = timedelta(minutes=30)
    sev3: OptionalDuration = timedelta(hours=24)
    sev4: OptionalDuration = None

    def cadence(self, severity: Severity) -> timedelta | None:
        """The update interval of a severity."""
        return getattr(self, severity.key)


class Timeline(_Strict):
    """Which reactions put a message on the timeline."""

    emoji: tuple[str, ...] = ("pushpin",)


def _severity(value: Any) -> Severity:
    severity = value if isinstance(value, Severity) else Severity.parse(str(value))
    if severity is None:
        raise ValueError(f"unknown severity {value!r} (use {VALID_SEVERITIES})")
    return severity


SeverityName = Annotated[Severity, BeforeValidator(_severity)]


class Alertmanager(_Strict):
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


Who = Literal["anyone", "responders"]


class Permissions(_Strict):
    """Who may do what to an incident: `anyone` (in its channel), or only its `responders`: the
    commander, the holders of its roles, the people on the escalation levels and the members of
    `responders_usergroup`."""

    responders_usergroup: str | None = Field(default=None, pattern=r"^S[A-Z0-9]+$")
    declare: Who = "anyone"
    update: Who = "anyone"
    note: Who = "anyone"
    timeline: Who = "anyone"
    escalate: Who = "anyone"
    resolve: Who = "responders"
    severity: Who = "responders"
    roles: Who = "responders"
    statuspage: Who = "responders"


class Policy(_Strict):
    """Everything the incident process needs to know, from `incident-bot.toml`."""

    announce_channel: str = "#incidents"
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

    def missing_secrets(self, env: Mapping[str, str]) -> str | None:
        """The first integration secret named in the policy but absent from `env`, as a ConfigError text."""
        for i, level in enumerate(self.escalation.levels):
            name = level.pagerduty_routing_key
            if name and not env.get(name):
                return f"escalation.levels[{i}].pagerduty_routing_key: environment variable {name} is not set"
        if self.statuspage and not env.get(self.statuspage.api_key_env):
            return f"statuspage.api_key_env: environment variable {self.statuspage.api_key_env} is not set"
        return None


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def policy_from_dict(data: dict[str, Any], source: str = "config") -> Policy:
    """Validate a parsed TOML document; raise ConfigError naming the first bad key."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _key(tuple(p for p in err["loc"] if not (isinstance(p, str) and "(" in p)))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"{source}: {key}: {msg}") from None


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
