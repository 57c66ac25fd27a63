"""Role changes: the channel post and the assignee's DM."""

from __future__ import annotations

from domain.records import Incident
from messages.blocks import Message, context, section
from messages.text import escape


def role_changed(incident: Incident, title: str, user_id: str, by: str, previous: str | None) -> Message:
    """Posted in the incident channel."""
    was = f" (was <@{previous}>)" if previous else ""
    line = f":bust_in_silhouette: <@{user_id}> is now *{title.lower()}*{was}, assigned by <@{by}>."
    return Message(text=f"<@{user_id}> is now {title.lower()} of {incident.ref}", blocks=[section(line)])


def role_dm(incident: Incident, title: str, duty: str, by: str) -> Message:
    """Told to the assignee: what the role does and where."""
    line = (
        f"You are now *{title.lower()}* of {incident.ref} ({incident.severity}: {escape(incident.title)}) "
        f"in <#{incident.channel_id}>, assigned by <@{by}>. The {title.lower()} {duty}."
    )
    return Message(
        text=f"You are now {title.lower()} of {incident.ref}",
        blocks=[section(line), context("`/incident status` in the channel shows who holds which role.")],
    )
