"""Every permission an incident request can need: the one list that `[permissions]`, the checks
and the README's table are derived from."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """What a request does to an incident, as `[permissions]` names it."""

    DECLARE = "declare"
    UPDATE = "update"
    NOTE = "note"
    TIMELINE = "timeline"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    SEVERITY = "severity"
    ROLES = "roles"
    STATUSPAGE = "statuspage"
    FOLLOWUP = "followup"
    POSTMORTEM = "postmortem"
    REOPEN = "reopen"
