"""Every permission an incident request can need: the one list that `[permissions]`, the checks
and the README's table are derived from."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Who = Literal["anyone", "responders"]


class Permission(StrEnum):
    """What a request does to an incident, as `[permissions]` names it; each with who may by default
    and what a refusal says the caller tried to do (`{ref}`: the incident)."""

    default: Who
    doing: str

    def __new__(cls, value: str, default: Who, doing: str) -> Permission:
        member = str.__new__(cls, value)
        member._value_ = value
        member.default, member.doing = default, doing
        return member

    DECLARE = "declare", "anyone", "declare incidents"
    UPDATE = "update", "anyone", "post updates to {ref}"
    NOTE = "note", "anyone", "add notes to {ref}"
    TIMELINE = "timeline", "anyone", "read the timeline of {ref}"
    ESCALATE = "escalate", "anyone", "escalate {ref}"
    EXPERT = "expert", "anyone", "bring experts into {ref}"
    RESOLVE = "resolve", "responders", "resolve {ref}"
    SEVERITY = "severity", "responders", "change the severity of {ref}"
    ROLES = "roles", "responders", "assign roles in {ref}"
    STATUSPAGE = "statuspage", "responders", "publish {ref} to the status page"
    FOLLOWUP = "followup", "anyone", "add follow-ups to {ref}"
    POSTMORTEM = "postmortem", "anyone", "record the postmortem of {ref}"
    REOPEN = "reopen", "responders", "reopen {ref}"
    LINK = "link", "anyone", "link {ref} to another incident"
    DUPLICATE = "duplicate", "responders", "mark {ref} as a duplicate"
    FIELDS = "fields", "anyone", "set the fields of {ref}"
