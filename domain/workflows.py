"""Which workflows an incident event sets off: the trigger an event is, the facts it is judged by,
and whether a workflow's conditions hold for them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# Incident events that are triggers under their own name (the others are changes, read below).
SAME_NAME = frozenset(
    {
        "declared",
        "resolved",
        "role_assigned",
        "reopened",
        "member_joined",
        "followup_overdue",
        "postmortem_overdue",
    }
)


@dataclass(frozen=True)
class Change:
    """A trigger as it happened: its name, what moved (`from_` → `to`), the role or field concerned,
    and the person it is about (who joined, who was given a role, who owns an overdue follow-up)."""

    on: str
    from_: tuple[str, ...] | None = None  # a multi-select's several values; None: unset
    to: tuple[str, ...] | None = None
    role: str | None = None
    field: str | None = None
    who: str | None = None


@dataclass(frozen=True)
class Facts:
    """What conditions are judged by: the incident as it is when the event happens, and the change."""

    severity: str
    service: str | None
    status: str
    private: bool
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # each set field's value(s) as words
    change: Change | None = None


class Conditions(Protocol):
    """A workflow's `if`: each key given must hold (a list: any of it); `not_`: none of its keys may."""

    @property
    def severity(self) -> tuple[str, ...] | None: ...
    @property
    def service(self) -> tuple[str, ...] | None: ...
    @property
    def status(self) -> tuple[str, ...] | None: ...
    @property
    def private(self) -> bool | None: ...
    @property
    def fields(self) -> Mapping[str, tuple[str, ...]] | None: ...
    @property
    def role(self) -> tuple[str, ...] | None: ...
    @property
    def field(self) -> tuple[str, ...] | None: ...
    @property
    def from_(self) -> tuple[str, ...] | None: ...
    @property
    def to(self) -> tuple[str, ...] | None: ...
    @property
    def not_(self) -> Conditions | None: ...


def changes_of(kind: str, data: Mapping[str, Any]) -> tuple[Change, ...]:
    """The triggers an incident event (as webhooks get it: its kind and data) is: an update that moves
    the status is `status_changed`; resolving and reopening are also a status change, to and from
    `resolved`; an update that does not move it, a page or an acknowledgement is none."""
    found = change_of(kind, data)
    if found is None:
        return ()
    by = data.get("by")
    if kind == "resolved" and data.get("previous_status"):
        return found, Change("status_changed", words(data["previous_status"]), ("resolved",), who=by)
    if kind == "reopened" and data.get("status"):
        return found, Change("status_changed", ("resolved",), words(data["status"]), who=by)
    return (found,)


def change_of(kind: str, data: Mapping[str, Any]) -> Change | None:
    """The trigger an incident event is under its own name or as the change it reports, or None."""
    if kind == "updated":
        before, after = data.get("previous_status"), data.get("status")
        return Change("status_changed", words(before), words(after)) if before != after else None
    if kind in ("severity_changed", "field_changed"):
        return Change(
            kind, words(data.get("from")), words(data.get("to")), field=data.get("name"), who=data.get("by")
        )
    if kind == "role_assigned":
        return Change(kind, role=data.get("role"), who=data.get("user"))
    if kind in SAME_NAME:
        return Change(kind, who=data.get("user") or data.get("owner"))
    return None


def words(value: Any) -> tuple[str, ...] | None:
    """A changed value as words: a list's (a multi-select's) each, a whole number without `.0`."""
    if value is None or value == []:
        return None
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return (f"{float(value):g}",)
    return (str(value),)


def _any(wanted: tuple[str, ...], have: tuple[str, ...] | str | None) -> bool:
    """Whether any of `have` is one of `wanted`, case ignored (nothing had matches nothing)."""
    if have is None:
        return False
    values = (have,) if isinstance(have, str) else have
    folded = {w.casefold() for w in wanted}
    return any(v.casefold() in folded for v in values)


def _held(cond: Conditions, facts: Facts) -> list[bool]:
    """Whether each condition key given holds."""
    change = facts.change or Change("")
    out: list[bool] = []
    if cond.severity is not None:
        out.append(_any(cond.severity, facts.severity))
    if cond.service is not None:
        out.append(_any(cond.service, facts.service))
    if cond.status is not None:
        out.append(_any(cond.status, facts.status))
    if cond.private is not None:
        out.append(cond.private == facts.private)
    for name, values in (cond.fields or {}).items():
        out.append(_any(values, facts.fields.get(name)))
    if cond.role is not None:
        out.append(_any(cond.role, change.role))
    if cond.field is not None:
        out.append(_any(cond.field, change.field))
    if cond.from_ is not None:
        out.append(_any(cond.from_, change.from_))
    if cond.to is not None:
        out.append(_any(cond.to, change.to))
    return out


def matches(cond: Conditions, facts: Facts) -> bool:
    """Whether a workflow with conditions `cond` runs for `facts`: every key given holds (absent: any),
    and none of the keys under `not` does."""
    if not all(_held(cond, facts)):
        return False
    return cond.not_ is None or not any(_held(cond.not_, facts))
