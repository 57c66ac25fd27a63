"""Related and duplicate incidents as Slack, the timeline and documents name them. A private incident
is named by its number only ("a private incident"): never its title or its channel, whoever reads."""

from __future__ import annotations

from dataclasses import dataclass

from domain.records import Incident
from messages.blocks import Message, section, truncate
from messages.text import escape, plain

PRIVATE = "a private incident"
MAX_TITLE = 200


@dataclass(frozen=True)
class Related:
    """Another incident as a page or a document names it: its title and status None when the reader
    may not see them (a private incident)."""

    number: int
    title: str | None
    status: str | None

    @property
    def ref(self) -> str:
        return f"INC-{self.number}"


def related(incident: Incident, visible: bool = False) -> Related:
    """`incident` as a reader sees it: a private one's title and status only when `visible` to them."""
    if incident.private and not visible:
        return Related(incident.number, None, None)
    return Related(incident.number, incident.title, incident.status)


def named(incident: Incident) -> str:
    """Plain words for the timeline: `INC-2: <title>`, or `INC-2 (a private incident)`."""
    if incident.private:
        return f"{incident.ref} ({PRIVATE})"
    return f"{incident.ref}: {plain(incident.title)}"


def _mrkdwn(incident: Incident) -> str:
    """`*INC-2* (#channel): <title>` with the title inert, or `*INC-2*, a private incident`."""
    if incident.private:
        return f"*{incident.ref}*, {PRIVATE}"
    channel = f" (<#{incident.channel_id}>)" if incident.channel_id else ""
    return f"*{incident.ref}*{channel}: {escape(truncate(incident.title, MAX_TITLE))}"


def _said(line: str) -> Message:
    return Message(text=truncate(line, 3000), blocks=[section(line)])


def linked(other: Incident, by: str) -> Message:
    """In each of two linked incidents' channels: the other one, and who linked them."""
    return _said(f":link: Related incident: {_mrkdwn(other)} · linked by <@{by}>")


def is_duplicate(original: Incident, by: str) -> Message:
    """In the duplicate's channel: where the work goes on."""
    return _said(
        f":link: <@{by}> marked this incident as a duplicate of {_mrkdwn(original)}. "
        "It is resolved as a duplicate: its pages stop, and the work goes on there."
    )


def has_duplicate(duplicate: Incident, by: str) -> Message:
    """In the original's channel: which incident turned out to be this one."""
    return _said(f":link: <@{by}> marked {_mrkdwn(duplicate)} as a duplicate of this incident.")


def related_entry(other: Incident) -> str:
    """The timeline line of a link, on each side."""
    return f"Related to {named(other)}"


def duplicate_entry(original: Incident) -> str:
    """The duplicate's timeline line."""
    return f"Marked as a duplicate of {named(original)}"


def duplicated_entry(duplicate: Incident) -> str:
    """The original's timeline line."""
    return f"{named(duplicate)} marked as a duplicate of this incident"


def summary(original: Incident) -> str:
    """The duplicate's resolution summary."""
    return f"Duplicate of {original.ref}"
