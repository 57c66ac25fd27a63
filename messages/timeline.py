"""The timeline as Slack shows it (`/incident timeline`), and notes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from domain.records import Incident, TimelineEntry
from messages.blocks import MAX_BLOCKS, MAX_SECTION, Message, context, header, section, truncate
from messages.text import escape, quote, readable, unentities
from messages.text import link as text_link

KIND_LABELS = {
    "declared": ":rotating_light:",
    "update": ":memo:",
    "status": ":arrows_counterclockwise:",
    "severity": ":warning:",
    "role": ":bust_in_silhouette:",
    "note": ":spiral_note_pad:",
    "pinned": ":pushpin:",
    "scribe": ":pencil2:",
    "paged": ":telephone_receiver:",
    "acknowledged": ":raised_hand:",
    "resolved": ":white_check_mark:",
    "expert": ":busts_in_silhouette:",
    "runbook": ":ballot_box_with_check:",
    "checklist": ":ballot_box_with_check:",
    "related": ":link:",
    "duplicate": ":link:",
    "field": ":label:",
    "workflow": ":gear:",
    "workflow_loop": ":gear:",
}
# Entries quoting a Slack message hold Slack's text: mentions live, `<` sent as `&lt;`.
FROM_SLACK = ("pinned", "scribe")
# Entries the bot writes itself as mrkdwn, about people it knows by id: their mentions are meant, any
# words of people's in them escaped.
COMPOSED = (
    "role",
    "paged",
    "page_failed",
    "acknowledged",
    "escalated",
    "expert",
    "workflow",
    "workflow_loop",
)
# A workflow's entry opens with its name in the bot's bold (names are `[a-z0-9][a-z0-9_-]*`).
_WORKFLOW_NAME = re.compile(r"^Workflow \*([a-z0-9][a-z0-9_-]*)\*")


def entry_text(entry: TimelineEntry, names: Mapping[str, str] | None = None) -> str:
    """What the entry says outside Slack (files, tools, the web view): Slack's entities unescaped once,
    people by name, no markup of Slack's (a workflow's name without the bold around it)."""
    text = entry.text
    if entry.kind in FROM_SLACK or entry.kind in COMPOSED:
        text = unentities(text)
    if entry.kind in ("workflow", "workflow_loop"):
        text = _WORKFLOW_NAME.sub(r"Workflow \1", text)
    return readable(text, names)


def entry_mrkdwn(entry: TimelineEntry) -> str:
    """What the entry says, as mrkdwn: people's and alerts' words inert, the bot's own mentions live."""
    if entry.kind in COMPOSED:
        return entry.text
    return quote(entry.text) if entry.kind in FROM_SLACK else escape(entry.text)


def entry_line(entry: TimelineEntry) -> str:
    """`2026-11-22 03:05 UTC` :pushpin: <@U…>: text (link)."""
    who = f"<@{entry.author_id}>: " if entry.author_id and entry.author_id.startswith(("U", "W")) else ""
    link = f" {text_link(entry.permalink, '(link)')}" if entry.permalink else ""
    text = truncate(" ".join(entry_mrkdwn(entry).split()), 600)
    return f"`{entry.at:%Y-%m-%d %H:%M} UTC` {KIND_LABELS.get(entry.kind, '•')} {who}{text}{link}"


def _packed(entries: list[TimelineEntry]) -> tuple[list[str], int]:
    """The entries' lines packed into sections within Slack's limits, and how many entries fit."""
    sections: list[str] = []
    chunk: list[str] = []
    size = 0
    shown = 0
    for entry in entries:
        line = entry_line(entry)
        if size + len(line) + 1 > MAX_SECTION and chunk:
            if len(sections) >= MAX_BLOCKS - 3:  # the header and the footer take two blocks
                break
            sections.append("\n".join(chunk))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
        shown += 1
    if chunk:
        sections.append("\n".join(chunk))
    return sections, shown


def fits(entries: list[TimelineEntry]) -> int:
    """How many of `entries` (the first ones of a timeline) the timeline message shows."""
    return _packed(entries)[1]


def timeline(incident: Incident, entries: list[TimelineEntry], total: int | None = None) -> Message:
    """The timeline, oldest first, packed into sections within Slack's limits; `entries` may be only
    its first ones, `total` saying how many it has."""
    total = len(entries) if total is None else total
    sections, shown = _packed(entries)
    blocks = [header(f"Timeline · {incident.ref}: {incident.title}"), *map(section, sections)]
    if not entries:
        blocks.append(section("_Nothing on the timeline yet._"))
    more = total - shown
    tail = f"{more} more entries not shown; " if more > 0 else ""
    blocks.append(
        context(
            f"{tail}{total} entries · times in UTC · :pushpin: a message to add it · "
            f"`incident-bot export {incident.ref}` for the postmortem draft"
        )
    )
    return Message(text=f"Timeline of {incident.ref} ({total} entries)", blocks=blocks)


def note_added(incident: Incident, entry: TimelineEntry) -> Message:
    """Confirmation of `/incident note`, in the channel."""
    return Message(
        text=f"Note added to the {incident.ref} timeline",
        blocks=[
            context(f":spiral_note_pad: Added to the timeline by <@{entry.author_id}>: {escape(entry.text)}")
        ],
    )


def draft_too_long(incident: Incident, posted: int, download_url: str | None) -> Message:
    """After the first `posted` parts of a postmortem draft posted as messages: where all of it is."""
    ref = incident.ref
    where = f"<{download_url}|from the web view> or " if download_url else ""
    return Message(
        text=f"{ref} postmortem draft: too long to post as messages",
        blocks=[
            section(
                f"The draft is too long to post as messages: these were its first {posted} parts. "
                f"Get all of it {where}with `incident-bot export {ref}`."
            )
        ],
    )
