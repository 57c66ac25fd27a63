"""A service's experts: the list of areas and their groups, and bringing one group into an incident."""

from __future__ import annotations

from collections.abc import Sequence

from domain.catalog import Service
from domain.runbooks import Expert
from messages.blocks import Message, context, section, truncate
from messages.text import escape

MAX_LISTED = 40  # areas in the list
MAX_NAMED = 30  # people named in one message or timeline entry


def named(expert: Expert) -> str:
    """`@dba-team (Database)`, the runbook's words made inert."""
    return f"{escape(truncate(expert.handle, 100))} ({escape(truncate(expert.area, 100))})"


def mentions(users: Sequence[str]) -> str:
    """`<@U1>, <@U2>`, the first few of a long list and how many more."""
    shown = ", ".join(f"<@{u}>" for u in users[:MAX_NAMED])
    return shown + (f" and {len(users) - MAX_NAMED} more" if len(users) > MAX_NAMED else "")


def expert_list(service: Service) -> Message:
    """`/incident expert` without an area: each area of the service's runbook and its group."""
    title = f"Experts of {escape(service.name)}"
    if not service.experts:
        return Message(
            text=f"The runbook of `{escape(service.name)}` names no experts (a *Subject Matter Experts* "
            "section, or `experts` in its `[[services]]` entry)."
        )
    lines = [
        f"• *{escape(truncate(e.area, 100))}*: {escape(truncate(e.handle, 100))}"
        for e in service.experts[:MAX_LISTED]
    ]
    more = len(service.experts) - MAX_LISTED
    if more > 0:
        lines.append(f"…and {more} more")
    return Message(
        text=f"{title}: " + ", ".join(named(e) for e in service.experts[:MAX_LISTED]),
        blocks=[
            section(f"*{title}*\n" + "\n".join(lines)),
            context("Bring one in with `/incident expert &lt;area&gt;`: its members are invited here"),
        ],
    )


def timeline_text(expert: Expert, invited: Sequence[str], failed: str | None) -> str:
    """The timeline entry (composed: its mentions are meant, the runbook's words are escaped)."""
    if failed:
        return f"Called on {named(expert)}, but could not invite {mentions(invited)} ({escape(failed)})"
    if not invited:
        return f"Called on {named(expert)}: everyone in it was already here"
    return f"Brought in {named(expert)}: {mentions(invited)}"


def brought_in(ref: str, expert: Expert, invited: Sequence[str], by: str, failed: str | None) -> Message:
    """Said in the incident channel when someone brings an expert group in."""
    if failed:
        text = (
            f":warning: <@{by}> called on {named(expert)} for {ref}, but the bot could not invite "
            f"{mentions(invited)} ({escape(failed)}). Invite them with `/invite`."
        )
    elif not invited:
        text = f":busts_in_silhouette: <@{by}> called on {named(expert)}: everyone in it is already here."
    else:
        text = f":busts_in_silhouette: <@{by}> brought in {named(expert)} for {ref}: {mentions(invited)}"
    return Message(text=truncate(text, 3000), blocks=[section(text)])
