"""The timeline as Slack shows it (`/incident timeline`), and notes."""

from __future__ import annotations

from collections.abc import Mapping

from domain.records import Incident, TimelineEntry
from messages.blocks import MAX_BLOCKS, MAX_SECTION, Message, context, header, section, truncate
from messages.text import escape, flatten, from_slack, quote
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
}
# Entries quoting a Slack message hold Slack's text: mentions live, `<` sent as `&lt;`.
FROM_SLACK = ("pinned", "scribe")
# Entries the bot writes itself, about people it knows by id: their mentions are meant.
COMPOSED = ("role", "paged", "page_failed", "acknowledged", "escalated")


def entry_text(entry: TimelineEntry, names: Mapping[str, str] | None = None) -> str:
    """What the entry says, as plain words (mentions as @name): for files and tools."""
    if entry.kind in FROM_SLACK:
        return from_slack(entry.text, names)
    return flatten(entry.text, names)


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


def timeline(incident: Incident, entries: list[TimelineEntry]) -> Message:
    """The whole timeline, oldest first, packed into sections within Slack's limits."""
    blocks = [header(f"Timeline · {incident.ref}: {incident.title}")]
    chunk: list[str] = []
    size = 0
    shown = 0
    for entry in entries:
        line = entry_line(entry)
        if size + len(line) + 1 > MAX_SECTION and chunk:
            if len(blocks) >= MAX_BLOCKS - 2:
                break
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
        shown += 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if not entries:
        blocks.append(section("_Nothing on the timeline yet._"))
    more = len(entries) - shown
    tail = f"{more} more entries not shown; " if more > 0 else ""
    blocks.append(
        context(
            f"{tail}{len(entries)} entries · times in UTC · :pushpin: a message to add it · "
            f"`incident-bot export {incident.ref}` for the postmortem draft"
        )
    )
    return Message(text=f"Timeline of {incident.ref} ({len(entries)} entries)", blocks=blocks)


def note_added(incident: Incident, entry: TimelineEntry) -> Message:
    """Confirmation of `/incident note`, in the channel."""
    return Message(
        text=f"Note added to the {incident.ref} timeline",
        blocks=[
            context(f":spiral_note_pad: Added to the timeline by <@{entry.author_id}>: {escape(entry.text)}")
        ],
    )
