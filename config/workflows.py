"""`[[workflows]]` in the policy file: when something happens to an incident (`on`), if it is such an
incident (`if`), do these steps (`do`), once each, in order.

The models check each entry on its own; `problems()` checks what entries name against the rest of
the policy (levels, schedules, webhooks, fields, services), one line per mistake.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from config.announce import Names, Severities
from config.custom_fields import CustomField
from config.fields import Strict
from config.workflow_steps import ROLE_NAMES, AnyStep, Assign, Page, SetField, Step, WebhookStep
from domain.severity import Severity, Status
from domain.spelling import closest

Trigger = Literal[
    "declared",
    "severity_changed",
    "status_changed",
    "role_assigned",
    "field_changed",
    "resolved",
    "reopened",
    "member_joined",
    "followup_overdue",
    "postmortem_overdue",
]
TRIGGERS: tuple[str, ...] = get_args(Trigger)
# What `from` and `to` are about, for the triggers that are changes.
CHANGES = {"severity_changed": "severity", "status_changed": "status", "field_changed": "field"}
STATUSES = tuple(s.value for s in Status)


def _listed(value: Any) -> Any:
    # A scalar means the list of it: `severity = "sev1"`, `to = 2`.
    return [value] if isinstance(value, str | int | float | bool) else value


def _word(value: Any) -> Any:
    # A field's value as words: TOML's 3 and 2.5 as `/incident set` shows them, a flag as true/false.
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{float(value):g}"
    return value


Words = Annotated[
    tuple[Annotated[str, BeforeValidator(_word), Field(min_length=1, max_length=200)], ...],
    BeforeValidator(_listed),
]
Statuses = Annotated[tuple[Literal[STATUSES], ...], BeforeValidator(_listed)]  # type: ignore[valid-type]
Roles = Annotated[tuple[Literal["commander", "scribe", "comms"], ...], BeforeValidator(_listed)]


class Conditions(Strict):
    """All of these hold (a list: any of its values); `not`: none of its conditions holds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    severity: Severities | None = Field(default=None, min_length=1)
    service: Names | None = Field(default=None, min_length=1)
    status: Statuses | None = Field(default=None, min_length=1)
    private: bool | None = None
    fields: dict[str, Words] | None = None
    role: Roles | None = Field(default=None, min_length=1)
    field: Names | None = Field(default=None, min_length=1)
    from_: Words | None = Field(default=None, alias="from", min_length=1)
    to: Words | None = Field(default=None, min_length=1)
    not_: Conditions | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _not_twice(self) -> Conditions:
        if self.not_ is not None and self.not_.not_ is not None:
            raise ValueError("`not` inside `not`: say what must hold outside it")
        return self


class Workflow(Strict):
    """One workflow: its `name`, the trigger it runs `on`, its conditions (`if`) and steps (`do`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
    on: Trigger
    when: Conditions = Field(default_factory=Conditions, alias="if")
    do: tuple[AnyStep, ...] = Field(min_length=1, max_length=30)

    @field_validator("on", mode="before")
    @classmethod
    def _trigger(cls, value: Any) -> Any:
        if value not in TRIGGERS:
            near = closest(str(value), TRIGGERS)
            guess = f"; did you mean `{near}`?" if near else ""
            raise ValueError(f"unknown trigger {value!r}{guess} (triggers: {', '.join(TRIGGERS)})")
        return value

    @model_validator(mode="after")
    def _severities(self) -> Workflow:
        # `from = "p0"` means SEV1, as the changes say it.
        if self.on != "severity_changed":
            return self
        when = self.when.model_copy(update={"from_": _sevs(self.when.from_), "to": _sevs(self.when.to)})
        if when.not_ is not None:
            update = {"from_": _sevs(when.not_.from_), "to": _sevs(when.not_.to)}
            when = when.model_copy(update={"not_": when.not_.model_copy(update=update)})
        return self.model_copy(update={"when": when})

    def steps_of(self, kind: type[Step]) -> Iterable[tuple[int, Any]]:
        """(index, step) of each step of one kind."""
        return ((i, step) for i, step in enumerate(self.do) if isinstance(step, kind))


def _sevs(words: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if words is None:
        return None
    return tuple(sev.value if (sev := Severity.parse(w)) else w for w in words)


def merged(top: list[Any], own: list[Any]) -> list[Any]:
    """A workspace's workflows (as parsed TOML): its own first, then the top level's it does not
    replace by name; so the workspace's own keep their indexes in what is said about them."""
    names = {w.get("name") for w in own if isinstance(w, dict)}
    return own + [w for w in top if not (isinstance(w, dict) and w.get("name") in names)]


def labels(
    top: Sequence[Workflow],
    these: Sequence[Workflow],
    prefix: str,
    positions: Sequence[int] = (),
    top_where: Sequence[str] = (),
) -> list[str]:
    """Where each workflow is written, for what is said about it: `workflows[2]`; in a workspace
    (`prefix` `workspaces.T….`) its own `workspaces.T….workflows[0]`, or the top level's it keeps.
    `positions`: each one's index as written (some left out); `top_where`: the top level's labels."""
    at = list(positions) or list(range(len(these)))
    said = list(top_where) or [f"workflows[{i}]" for i in range(len(top))]
    scope, own = prefix.removesuffix("."), _own(top, these) if prefix else len(these)
    return [
        f"{prefix}workflows[{at[i]}]" if i < own else f"{scope}: {said[top.index(wf)]}"
        for i, wf in enumerate(these)
    ]


def beyond(top: Collection[str], found: Iterable[str], prefix: str) -> list[str]:
    """A workspace's lines (`prefix` `workspaces.T….`) less those the top level already says of a
    workflow the workspace keeps: a mistake is said once, where it is written."""
    scope = prefix.removesuffix(".") + ": "
    return [line for line in found if line.removeprefix(scope) not in top]


def _own(top: Sequence[Workflow], these: Sequence[Workflow]) -> int:
    """How many of a workspace's workflows are its own: those before the top level's it keeps."""
    kept = 0
    while kept < len(these) and these[len(these) - 1 - kept] in top:
        kept += 1
    return len(these) - kept


def problems(
    workflows: Sequence[Workflow],
    *,
    levels: Sequence[str],
    schedules: Sequence[str],
    webhooks: Sequence[str | None],
    fields: Sequence[CustomField],
    services: Sequence[str],
    labels: Sequence[str] = (),
) -> list[str]:
    """What the workflows name that the policy lacks, one line per mistake (`workflows[0].do[2].page:
    unknown level L9 (levels: L1, L2)`); `labels` say where each workflow is written."""
    out: list[str] = []
    seen: dict[str, int] = {}
    by_name = {f.name: f for f in fields}
    where = list(labels) or [f"workflows[{i}]" for i in range(len(workflows))]
    for i, wf in enumerate(workflows):
        at = where[i]
        if wf.name in seen:
            out.append(f"{at}.name: {where[seen[wf.name]]} is called {wf.name} too; names are unique")
        seen.setdefault(wf.name, i)
        for cond, key in ((wf.when, "if"), (wf.when.not_, "if.not")):
            if cond is not None:
                out += _condition_problems(cond, f"{at}.{key}", services, by_name)
                out += _trigger_problems(wf.on, cond, f"{at}.{key}")
        for j, page in wf.steps_of(Page):
            if page.level is not None and page.level not in levels:
                out.append(f"{at}.do[{j}].page.level: unknown level {page.level} ({_known(levels)})")
            if page.schedule is not None and page.schedule not in schedules:
                out.append(
                    f"{at}.do[{j}].page.schedule: unknown schedule {page.schedule} ({_known(schedules)})"
                )
        for j, assign in wf.steps_of(Assign):
            if assign.schedule is not None and assign.schedule not in schedules:
                out.append(
                    f"{at}.do[{j}].assign.schedule: unknown schedule {assign.schedule} ({_known(schedules)})"
                )
        for j, hook in wf.steps_of(WebhookStep):
            if hook.name not in webhooks:
                named = [w for w in webhooks if w]
                out.append(f"{at}.do[{j}].webhook.name: no webhook named {hook.name} ({_known(named)})")
        for j, setting in wf.steps_of(SetField):
            field = by_name.get(setting.field)
            if field is None:
                out.append(f"{at}.do[{j}].set.field: unknown field {setting.field} ({_known(list(by_name))})")
            elif (wrong := _value_problem(field, setting.value)) is not None:
                out.append(f"{at}.do[{j}].set.value: {wrong}")
    return out


def _condition_problems(
    cond: Conditions, at: str, services: Sequence[str], fields: dict[str, CustomField]
) -> list[str]:
    out: list[str] = []
    for name in cond.service or ():
        if name not in services:
            out.append(f"{at}.service: unknown service {name} ({_known(services)})")
    for name in cond.field or ():
        if name not in fields:
            out.append(f"{at}.field: unknown field {name} ({_known(list(fields))})")
    for name, words in (cond.fields or {}).items():
        field = fields.get(name)
        if field is None:
            out.append(f"{at}.fields.{name}: unknown field ({_known(list(fields))})")
            continue
        for word in words:
            if field.options and word.lower() not in (o.lower() for o in field.options):
                out.append(f"{at}.fields.{name}: {word!r} is not an option ({', '.join(field.options)})")
    return out


def _trigger_problems(on: str, cond: Conditions, at: str) -> list[str]:
    """Conditions the trigger cannot meet: a change's from/to on what is no change, a word that is
    no severity or status."""
    out: list[str] = []
    about = CHANGES.get(on)
    for key, words in (("from", cond.from_), ("to", cond.to)):
        if words and about is None:
            out.append(f"{at}.{key}: only for changes ({', '.join(CHANGES)}), not on = {on}")
        for word in (words or ()) if about else ():
            if about == "severity" and Severity.parse(word) is None:
                out.append(f"{at}.{key}: {word!r} is not a severity (sev1 … sev4)")
            if about == "status" and word.lower() not in STATUSES:
                out.append(f"{at}.{key}: {word!r} is not a status ({', '.join(STATUSES)})")
    if cond.role and on != "role_assigned":
        out.append(f"{at}.role: only for on = role_assigned, not on = {on}")
    if cond.field and on != "field_changed":
        out.append(f"{at}.field: only for on = field_changed, not on = {on}")
    return out


def _value_problem(field: CustomField, value: str | float | list[str]) -> str | None:
    """Why `value` does not fit `field`, or None."""
    if field.type == "multi_select":
        values = value if isinstance(value, list) else [str(value)]
        wrong = [v for v in values if v.lower() not in (o.lower() for o in field.options)]
        return (
            f"{wrong[0]!r} is not an option of {field.name} ({', '.join(field.options)})" if wrong else None
        )
    if isinstance(value, list):
        return f"{field.name} is a {field.type}: one value, not a list"
    if field.type == "select" and str(value).lower() not in (o.lower() for o in field.options):
        return f"{value!r} is not an option of {field.name} ({', '.join(field.options)})"
    if field.type == "number" and not isinstance(value, float):
        return f"{field.name} is a number"
    if field.type == "user" and not str(value).startswith(("U", "W")):
        return f"{field.name} is a person: a user id like U0123ABCD"
    return None


def _known(names: Sequence[str]) -> str:
    return "known: " + (", ".join(names) if names else "none")


__all__ = ["ROLE_NAMES", "TRIGGERS", "Conditions", "Workflow", "problems"]
