"""The steps a `[[workflows]]` entry's `do` lists: one inline table each, whose one key names the step.

Each step kind is a model validating its own arguments; a shorthand value (`post = "text"`,
`invite = ["U0ANA"]`, `page = "L2"`) is read as the table it stands for. `dump()` gives the canonical
table back, which a queued run keeps, so it carries out the steps as they were when it was triggered.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    field_serializer,
    field_validator,
    model_validator,
)

from config.fields import Duration, Strict
from config.integrations import check_url
from domain.severity import VALID_SEVERITIES, Severity
from domain.spelling import closest

ROLE_NAMES = ("commander", "scribe", "comms")
RoleName = Literal["commander", "scribe", "comms"]
# A user (`U…`/`W…`), a user group by id (`S…`) or by handle (`@payments-leads`).
TARGET = r"^([UWS][A-Z0-9]{2,31}|@[A-Za-z0-9][\w.-]{0,80})$"
# `dm` may also name whoever holds a role.
DM_TARGET = r"^([UWS][A-Z0-9]{2,31}|@[A-Za-z0-9][\w.-]{0,80}|commander|scribe|comms)$"


def _shaped(pattern: str, what: str) -> AfterValidator:
    """A string of `pattern`, refused as `'x' is not <what>` (a config mistake said in words)."""

    def check(value: str) -> str:
        if re.match(pattern, value) is None:
            raise ValueError(f"{value[:80]!r} is not {what}")
        return value

    return AfterValidator(check)


Target = Annotated[str, _shaped(TARGET, "a person (U…) or a user group (S… or @handle)")]
DmTarget = Annotated[
    str, _shaped(DM_TARGET, "a person (U…), a user group (S… or @handle) or a role (commander, scribe…)")
]
Person = Annotated[str, _shaped(r"^[UW][A-Z0-9]{2,31}$", "a person's Slack id (U…)")]
Text = Annotated[str, Field(min_length=1, max_length=3000)]
TemplateName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,60}$")]


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _severity(value: Any) -> Severity:
    severity = value if isinstance(value, Severity) else Severity.parse(str(value))
    if severity is None:
        raise ValueError(f"unknown severity {value!r} (use {VALID_SEVERITIES})")
    return severity


class Step(Strict):
    """One step: `KIND` is the key naming it; `SHORT` the argument a bare value stands for."""

    KIND: ClassVar[str]
    SHORT: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) == {cls.KIND}:
            data = data[cls.KIND]
        if cls.SHORT is not None and not isinstance(data, dict):
            return {cls.SHORT: data}
        return data

    def dump(self) -> dict[str, Any]:
        """The step as its inline table: `{kind: {arguments}}`."""
        return {self.KIND: self.model_dump(mode="json", exclude_none=True)}


class _Worded(Step):
    """A step that says something: inline template `text`, or a `template` file's name (`<name>.j2`)."""

    text: Text | None = None
    template: TemplateName | None = None

    @model_validator(mode="after")
    def _one_source(self) -> _Worded:
        if (self.text is None) == (self.template is None):
            raise ValueError("give text (an inline template) or template (a file's name), one of them")
        return self


class Invite(Step):
    """Invite people and user groups (their members) into the incident channel."""

    KIND, SHORT = "invite", "who"
    who: Annotated[tuple[Target, ...], BeforeValidator(_listed)] = Field(min_length=1, max_length=50)


class Post(_Worded):
    """Post a message in the incident channel."""

    KIND, SHORT = "post", "text"


class Dm(_Worded):
    """Send a message to people, user groups' members or a role's holder, each by DM."""

    KIND = "dm"
    to: Annotated[tuple[DmTarget, ...], BeforeValidator(_listed)] = Field(min_length=1, max_length=50)


class Checklist(Step):
    """Post items as a checklist; each tick goes on the timeline."""

    KIND, SHORT = "checklist", "items"
    title: Annotated[str, Field(min_length=1, max_length=150)] = "Checklist"
    items: tuple[Annotated[str, Field(min_length=1, max_length=300)], ...] = Field(
        min_length=1, max_length=40
    )


class Bookmark(Step):
    """Bookmark a link in the incident channel."""

    KIND = "bookmark"
    title: Annotated[str, Field(min_length=1, max_length=150)]
    url: str

    _url = field_validator("url")(classmethod(lambda cls, v: check_url(v)))


class Topic(Step):
    """Set the channel topic (an inline template)."""

    KIND, SHORT = "topic", "text"
    text: Annotated[str, Field(min_length=1, max_length=250)]


class Page(Step):
    """Page an escalation level or whoever is on call on a schedule, with the usual acknowledgement."""

    KIND, SHORT = "page", "level"
    level: str | None = None
    schedule: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Page:
        if (self.level is None) == (self.schedule is None):
            raise ValueError("give level or schedule, one of them")
        return self


class Assign(Step):
    """Give a role to a person, or to whoever is on call on a schedule."""

    KIND = "assign"
    role: RoleName
    to: Person | None = None
    schedule: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Assign:
        if (self.to is None) == (self.schedule is None):
            raise ValueError("give to (a person) or schedule (whoever is on call), one of them")
        return self


class WebhookStep(Step):
    """Send the incident to a webhook of the policy, by its `name`."""

    KIND, SHORT = "webhook", "name"
    name: Annotated[str, Field(min_length=1, max_length=60)]


class Remind(Step):
    """Post `text` in the channel `after` a while, unless the incident is resolved by then."""

    KIND = "remind"
    after: Duration
    text: Text

    @field_serializer("after")
    def _seconds(self, value: timedelta) -> int:
        return int(value.total_seconds())

    @field_validator("after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0) or value > timedelta(days=30):
            raise ValueError("after is a duration from 1s to 30d")
        return value


class SetField(Step):
    """Set a custom field (`[[fields]]`) to a value."""

    KIND = "set"
    field: Annotated[str, Field(min_length=1, max_length=40)]
    value: str | float | list[str]


class Raise(Step):
    """Raise the severity (never lowers it: a run-time rule)."""

    KIND, SHORT = "severity", "to"
    to: Annotated[Severity, BeforeValidator(_severity)]


KINDS: tuple[type[Step], ...] = (
    Invite, Post, Dm, Checklist, Bookmark, Topic, Page, Assign, WebhookStep, Remind, SetField, Raise
)  # fmt: skip
STEP_NAMES = tuple(kind.KIND for kind in KINDS)


def _kind(value: Any) -> str | None:
    if isinstance(value, Step):
        return value.KIND
    return next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None


def _shape(value: Any) -> Any:
    """A step is a table with one key, a known step's name: else one clear error, not the union's."""
    if isinstance(value, Step):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        keys = ", ".join(value) if isinstance(value, dict) else type(value).__name__
        raise ValueError(
            f'a step is an inline table with one key naming it, like {{ post = "…" }} (got {keys})'
        )
    name = next(iter(value))
    if name not in STEP_NAMES:
        near = closest(str(name), STEP_NAMES)
        guess = f"; did you mean `{near}`?" if near else ""
        raise ValueError(f"unknown step {name!r}{guess} (steps: {', '.join(STEP_NAMES)})")
    return value


AnyStep = Annotated[
    Annotated[Invite, Tag("invite")]
    | Annotated[Post, Tag("post")]
    | Annotated[Dm, Tag("dm")]
    | Annotated[Checklist, Tag("checklist")]
    | Annotated[Bookmark, Tag("bookmark")]
    | Annotated[Topic, Tag("topic")]
    | Annotated[Page, Tag("page")]
    | Annotated[Assign, Tag("assign")]
    | Annotated[WebhookStep, Tag("webhook")]
    | Annotated[Remind, Tag("remind")]
    | Annotated[SetField, Tag("set")]
    | Annotated[Raise, Tag("severity")],
    Discriminator(_kind),
    BeforeValidator(_shape),
]
