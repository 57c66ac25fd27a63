"""`/incident postmortem`: the draft of an incident's postmortem, built a slice at a time and shared
in its channel as a file, or as messages when the workspace refuses uploads."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import islice

from config.settings import Settings
from domain.records import Incident
from messages import timeline as templates
from messages.blocks import Message, section
from runtime.clock import Clock
from runtime.slack_ops import SlackOpError, SlackOps
from services.exports import MarkdownFormat, export_data, whole
from services.oncall import OnCall
from services.people import People
from services.timeline import Timeline
from storage.db import Database

POSTED_CHUNKS = 10  # parts of the draft posted at most as messages when uploads are refused
CHUNK = 2900  # characters of the draft a message holds (a section holds 3,000)


@dataclass
class PostmortemDrafts:
    """The postmortem draft of a channel's incident, shared in the channel."""

    timeline: Timeline
    oncall: OnCall
    slack: SlackOps
    db: Database
    clock: Clock
    settings: Settings
    team_id: str
    people: People

    async def share(self, channel_id: str) -> None:
        """Upload the draft, built page by page a slice at a time (the event loop is never held for
        more than a slice); when the workspace refuses uploads, post its first POSTED_CHUNKS parts as
        code blocks, and where to get all of it when there is more."""
        incident = await self.timeline.incident_or_refuse(channel_id, "postmortem")
        end = incident.resolved_at or self.clock.now()
        oncall = await self.oncall.during(incident.declared_at, end)
        await self.people.look_up({u for users in oncall.values() for u in users})  # named nowhere else
        found = await export_data(self.db, self.team_id, incident, fields=self.timeline.policy.fields)
        found.data = replace(found.data, oncall=oncall)
        text = await whole(self.db, found, MarkdownFormat(found))
        filename = f"{incident.ref}-postmortem.md"
        try:
            await self.slack.upload_text(channel_id, filename, f"Postmortem draft · {incident.ref}", text)
            return
        except SlackOpError as exc:
            fallback = exc.error
        for i, chunk in enumerate(islice(_chunks(text, CHUNK), POSTED_CHUNKS + 1)):
            if i == POSTED_CHUNKS:
                message = templates.draft_too_long(incident, i, self._download_url(incident))
                await self.slack.post(channel_id, message)
                break
            if i == 0:
                said = f"Postmortem draft for {incident.ref} (file upload not permitted: {fallback})"
            else:
                said = f"{incident.ref} postmortem draft, continued"
            await self.slack.post(channel_id, Message(text=said, blocks=[section(f"```{chunk}```")]))

    def _download_url(self, incident: Incident) -> str | None:
        """The draft's download in the web view, when it is served at a known public address."""
        public = self.settings.incident_bot_public_url
        if not (self.settings.web_view and public):
            return None
        return f"{public.rstrip('/')}/ui/incidents/{incident.number}/postmortem.md"


def _chunks(text: str, size: int) -> Iterator[str]:
    """Split on line boundaries into pieces of at most `size` characters, as they are asked for."""
    current = ""
    for line in io.StringIO(text):
        while len(line) > size:
            if current:
                yield current
            current = ""
            yield line[:size]
            line = line[size:]
        if len(current) + len(line) > size:
            yield current
            current = ""
        current += line
    if current:
        yield current
