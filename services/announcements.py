"""Announcements that follow the incident: posted in the announce channel and each matching `[[announce]]`
rule's, kept per channel, edited as the severity and status change, with news replied in their threads.
A private incident is announced in the announce channel only, and redacted there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.announce import channels_for
from config.policy import Policy
from messages import incident as templates
from messages.blocks import Message
from runtime.journal import Outcome
from runtime.slack_ops import SlackOps
from services.wording import Wording
from storage.announcements import AnnouncementRepo
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo


@dataclass(frozen=True)
class Target:
    """One announcement: its channel as configured, the channel's ID (None when not known yet) and its ts."""

    channel: str
    channel_id: str | None
    ts: str


class Announcements:
    """One workspace's incident announcements. Each Slack call is a recorded step of the caller's
    request, named by channel, so a retry posts and edits each once."""

    def __init__(self, db: Database, slack: SlackOps, policy: Policy, team_id: str, words: Wording) -> None:
        self.db, self.slack, self.policy, self.team_id, self.words = db, slack, policy, team_id, words

    def channels(self, incident: Incident) -> list[str]:
        """Where the incident is announced as it stands now."""
        rules = self.policy.announce
        return channels_for(
            self.policy.announce_channel, rules, incident.severity, incident.service, incident.private
        )

    async def announce(self, out: Outcome, incident: Incident) -> None:
        """At declaration: the announcement in every channel it goes to."""
        for channel in self.channels(incident):
            await self._post(out, incident, channel)

    async def severity_changed(self, out: Outcome, incident: Incident, old: str, by: str) -> None:
        """Said in each announcement's thread, each announcement edited; a rule the new severity
        matches gets the announcement now."""
        await self._follow(out, incident, templates.severity_note(incident, old, by))

    async def reopened(self, out: Outcome, incident: Incident, reason: str, by: str) -> None:
        """Said in each announcement's thread, each announcement edited back to open."""
        await self._follow(out, incident, templates.reopen_note(incident, reason, by))

    async def status_changed(self, out: Outcome, incident: Incident) -> None:
        """Each announcement edited to show the new status."""
        for target in await self.targets(out):
            await self._refresh(out, incident, target)

    async def resolved(self, out: Outcome, incident: Incident) -> None:
        """The resolution said in each announcement's channel, each announcement edited to resolved."""
        note = templates.resolution_announcement(incident)
        targets = await self.targets(out)
        main = self.policy.announce_channel
        if all(t.channel != main for t in targets):  # its announcement never landed: say it anyway
            await out.step(f"note {main}", lambda: self.slack.post_joining(main, note))
        for target in targets:
            await self._reply(out, target, note, threaded=False)
            await self._refresh(out, incident, target)

    async def reply(self, out: Outcome, incident: Incident, message: Message) -> None:
        """`message` in each announcement's thread (nothing for a private incident: it names what)."""
        if incident.private:
            return
        for target in await self.targets(out):
            await self._reply(out, target, message)

    async def announcement(self, incident: Incident) -> Message:
        """The announcement as things stand, in the team's words (a private incident's redacted)."""
        return templates.announcement(incident, await self.words.sections("announce", incident))

    async def targets(self, out: Outcome) -> list[Target]:
        """The incident's announcements, read once per request (a retry replies to the same ones)."""

        async def read(s: AsyncSession) -> list[dict[str, Any]]:
            rows = await AnnouncementRepo(s, out.incident.id).all()
            found = [{"channel": r.channel, "channel_id": r.channel_id, "ts": r.ts} for r in rows if r.ts]
            main, ts = self.policy.announce_channel, out.incident.announce_ts
            if ts and all(f["channel"] != main for f in found):
                # Announced before announcements were kept per channel.
                found.insert(0, {"channel": main, "channel_id": None, "ts": ts})
            return found

        return [Target(**t) for t in await out.steps.db("announcements", read)]

    async def _follow(self, out: Outcome, incident: Incident, note: Message) -> None:
        targets = await self.targets(out)
        for target in targets:
            await self._reply(out, target, note)
            await self._refresh(out, incident, target)
        reached = {t.channel for t in targets}
        for channel in self.channels(incident):
            if channel not in reached:
                await self._post(out, incident, channel)

    async def _post(self, out: Outcome, incident: Incident, channel: str) -> None:
        async def post() -> dict[str, str]:
            message = await self.announcement(incident)
            channel_id = await self.slack.channel_id(channel)
            return {"channel_id": channel_id, "ts": await self.slack.post_joining(channel_id, message)}

        posted = await out.step(f"announce {channel}", post)
        if posted:
            await out.steps.db(f"announced {channel}", lambda s: self._keep(s, out, channel, posted))

    async def _keep(self, s: AsyncSession, out: Outcome, channel: str, posted: dict[str, str]) -> None:
        incident_id = out.incident.id
        await AnnouncementRepo(s, incident_id).add(channel, posted["channel_id"], posted["ts"], out.steps.at)
        if channel == self.policy.announce_channel:
            row = await IncidentRepo(s, self.team_id).get(incident_id)
            if row is not None:
                row.announce_ts = posted["ts"]

    async def _reply(self, out: Outcome, target: Target, message: Message, threaded: bool = True) -> None:
        where, thread_ts = target.channel_id or target.channel, target.ts if threaded else None
        name = f"{'thread' if threaded else 'note'} {target.channel}"
        await out.step(name, lambda: self.slack.post(where, message, thread_ts=thread_ts))

    async def _refresh(self, out: Outcome, incident: Incident, target: Target) -> None:
        async def edit() -> None:
            message = await self.announcement(incident)
            channel_id = target.channel_id or await self.slack.channel_id(target.channel)
            await self.slack.update(channel_id, target.ts, message)

        await out.step(f"refresh {target.channel}", edit)
