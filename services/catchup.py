"""Catch-ups: someone joining an incident channel gets, only for them, where the incident stands;
`/incident catchup` gives the same at any time, or only what happened since a time or since their
last catch-up. Each one given is recorded (the catchups table), so `since last` knows where to start.

Reads are bounded however long the incident: the newest few timeline entries and a count, the last
update, the open follow-ups.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import IncidentError
from domain.since import LAST, in_zone, is_ago, since_time, zone
from messages import catchup as templates
from messages.blocks import Message
from runtime.clock import Clock
from runtime.journal import Outcome, Steps
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from services.catalog import ServiceCatalog
from storage.catchups import CatchUpRepo, TimelineTail, time_zone
from storage.db import Database
from storage.followups import FollowupRepo
from storage.models import Incident
from storage.repositories import IncidentRepo

# The declarer is invited into the channel as the declaration's own step: they need no catch-up.
DECLARING = timedelta(minutes=10)


class CatchUps:
    """One workspace's catch-ups."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        catalog: ServiceCatalog,
        clock: Clock,
        team_id: str,
        outbox: Outbox,
    ) -> None:
        self.db, self.slack, self.catalog, self.clock, self.team_id = db, slack, catalog, clock, team_id
        self.outbox = outbox  # member_joined, for the workflows (and webhooks that ask for it)

    async def joined(self, steps: Steps, channel_id: str, user_id: str) -> None:
        """Someone joined a channel: if it is an incident's, their catch-up (ephemeral) once, from then
        on `since last` starts there, and `member_joined`; the declarer arriving with the declaration
        gets neither."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
        if incident is None:
            return
        arriving = user_id == incident.declared_by and steps.at - incident.declared_at <= DECLARING
        if not arriving:

            async def send() -> None:
                message = await self.full(incident, steps.at)
                await self.slack.ephemeral(channel_id, user_id, message)

            await Outcome(incident, steps).step("catchup", send)

        async def seen(s: AsyncSession) -> None:
            await CatchUpRepo(s, incident.id).record(user_id, steps.at)
            if not arriving:  # the declarer brought in by the declaration is not someone joining
                await self.outbox.record(s, incident, "member_joined", {"user": user_id})

        await steps.db("seen", seen)

    async def seen(self, steps: Steps, incident_id: int, user_id: str) -> None:
        """Record that `user_id` was caught up as of the request's time (once per request)."""
        await steps.db("seen", lambda s: CatchUpRepo(s, incident_id).record(user_id, steps.at))

    async def read(
        self, channel_id: str, user_id: str, number: int | None, since: str | None, at: datetime
    ) -> tuple[Incident, Message]:
        """`/incident catchup [INC-n] [since …]`: the incident (this channel's, or INC-n for someone
        who may see it) and its catch-up as of `at`, whole or since a time."""
        incident = await self.visible(channel_id, user_id, number)
        if since is None:
            return incident, await self.full(incident, at)
        async with self.db.session() as s:
            start, said = await self._start(s, incident, user_id, since, at)
            entries, total = await TimelineTail(s, incident.id).newest(templates.SHOWN_SINCE, after=start)
        view = templates.CatchUp(incident, at, None, entries, total, since=start, since_said=said)
        return incident, templates.since(view)

    async def visible(self, channel_id: str, user_id: str, number: int | None) -> Incident:
        """This channel's incident, or INC-`number`; a private one only for its channel's members (a
        refusal names no title)."""
        async with self.db.session() as s:
            repo = IncidentRepo(s, self.team_id)
            incident = await (repo.by_ref(str(number)) if number is not None else repo.by_channel(channel_id))
        if incident is None:
            if number is not None:
                raise IncidentError(f"There is no incident INC-{number}.")
            raise IncidentError("`/incident catchup` works in an incident channel, or name one: `INC-n`.")
        if incident.private and incident.channel_id != channel_id:
            members = await self.slack.channel_members(incident.channel_id) if incident.channel_id else set()
            if user_id not in members:
                raise IncidentError(
                    f"{incident.ref} is private: only the members of its channel can catch up on it."
                )
        return incident

    async def full(self, incident: Incident, at: datetime) -> Message:
        """The whole catch-up as of `at`."""
        async with self.db.session() as s:
            last = await IncidentRepo(s, self.team_id).last_update(incident.id)
            entries, total = await TimelineTail(s, incident.id).newest(templates.SHOWN_ENTRIES)
            followups = [f for f in await FollowupRepo(s, self.team_id).of_incident(incident.id) if f.is_open]
        service = self.catalog.get(incident.service)
        view = templates.CatchUp(incident, at, last, entries, total, followups, service)
        return templates.catchup(view)

    async def _start(
        self, s: AsyncSession, incident: Incident, user_id: str, since: str, at: datetime
    ) -> tuple[datetime, str]:
        """When `since` starts for this person, and how to say it."""
        if since == LAST:
            seen = await CatchUpRepo(s, incident.id).seen_at(user_id)
            if seen is None:
                return incident.declared_at, "the start (no catch-up of yours before)"
            return seen, "your last catch-up"
        tz_name = await time_zone(s, self.team_id, user_id)
        tz = zone(tz_name)
        try:
            start = since_time(since, at, tz)
        except ValueError as exc:
            raise IncidentError(str(exc)) from None
        if in_zone(since) and str(tz) == tz_name:
            return start, f"{since} ({tz_name})"
        return start, f"{since} ago" if is_ago(since) and not since.endswith("ago") else since
