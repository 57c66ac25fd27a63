"""Statuspage messages in the incident channel: what was published, and the offer to resolve it."""

from __future__ import annotations

from domain.records import Incident
from messages.blocks import Message, context, section, truncate
from messages.text import escape
from messages.text import link as link_to

RESOLVE_ACTION = "statuspage_resolve"


def published(incident: Incident, status: str, text: str, link: str | None, by: str) -> Message:
    """Confirmation that the public incident was created or updated."""
    where = link_to(link, "the public incident")
    said = escape(truncate(text, 2500))
    line = f":globe_with_meridians: <@{by}> updated {where} on the status page: *{status}*\n>{said}"
    return Message(text=f"Status page updated ({status}) for {incident.ref}", blocks=[section(line)])


def resolve_offer(incident: Incident) -> Message:
    """After the Slack incident is resolved: the public one stays open until someone decides."""
    commander = f"<@{incident.commander_id}> " if incident.commander_id else ""
    return Message(
        text=f"{incident.ref} is resolved; the public status page incident is still open",
        blocks=[
            section(
                f":globe_with_meridians: {commander}{incident.ref} is resolved here, but the public "
                f"incident is still *{incident.statuspage_status}*. Resolve it too?"
            ),
            {
                "type": "actions",
                "block_id": "statuspage_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": RESOLVE_ACTION,
                        "text": {"type": "plain_text", "text": "Resolve the public incident"},
                        "style": "primary",
                        "value": str(incident.id),
                    }
                ],
            },
            context("Nothing is published without a click: a public message is a human decision."),
        ],
    )


def public_resolved(incident: Incident, by: str, link: str | None) -> Message:
    """Replaces the offer once the public incident is resolved."""
    where = link_to(link, "public incident")
    return Message(
        text=f"Public incident for {incident.ref} resolved",
        blocks=[section(f":white_check_mark: <@{by}> resolved the {where} of {incident.ref}.")],
    )
