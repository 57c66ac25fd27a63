"""Stakeholders: `/incident subscribe`, and each update, the resolution and a change of severity sent
to the subscribers by DM.

The request that posts the news queues it (`tell`, once, under a key it keeps in its journal) as a
`News` request of its own, ordered per incident apart from the channel: the news' post and its
answer never wait for the DMs, however many subscribers there are. The inbox worker sends them
(`send`): each DM is a step of that request's journal, so a retry after a Slack failure or a restart
sends only the DMs not sent yet. A private incident's news goes only to the subscribers who are
still members of its channel.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from functools import partial
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import IncidentError
from domain.severity import Severity, Status
from messages import subscriptions as templates
from messages.blocks import Message
from runtime import keys
from runtime.journal import Outcome, Steps, carry_on
from runtime.ops import Intake, Request
from runtime.slack_ops import SlackOps
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo
from storage.subscriptions import SubscriptionRepo

log = logging.getLogger(__name__)

FAN_OUT = 8  # DMs in flight at once
Kind = Literal["update", "resolved", "severity"]


class News(Request):
    """An incident's news for its subscribers: one DM each, sent by the inbox worker in order with
    the incident's other news."""

    OP = "subscribers"
    key: str  # kept in the journal of the request that posted the news: queued once however retried
    incident: int
    channel: str
    kind: Kind
    by: str | None = None
    at: datetime
    text: str = ""
    status: str | None = None  # the incident's status then
    previous: str | None = None  # the status before (an update) or the severity before (severity)
    ts: str | None = None  # the news' message in the incident channel

    def order_key(self) -> str:
        return keys.subscribers(self.incident)

    def idem_key(self) -> str | None:
        return keys.news(self.key)

    def channel_id(self) -> str | None:
        return self.channel or None

    def what(self) -> str:
        return f"send this incident's {self.kind} to its subscribers by DM"


class Subscriptions:
    """Who gets one workspace's incidents' news by DM, and sending it to them."""

    def __init__(self, db: Database, slack: SlackOps, intake: Intake, team_id: str) -> None:
        self.db, self.slack, self.intake, self.team_id = db, slack, intake, team_id

    async def incident_here(self, channel_id: str) -> bool:
        """Whether `channel_id` is an incident's channel."""
        async with self.db.session() as s:
            return await IncidentRepo(s, self.team_id).by_channel(channel_id) is not None

    async def _members(self, incident: Incident) -> set[str] | None:
        """Who may hear about the incident: None (anyone) for a public one, the members of its channel
        for a private one (nobody when Slack will not say: privacy first)."""
        if not incident.private:
            return None
        with carry_on(log, "reading who is in %s's channel", incident.ref, incident_id=incident.id) as lapse:
            members = await self.slack.channel_members(incident.channel_id or "")
        return set() if lapse.error is not None else members

    async def subscribe(self, steps: Steps, user: str, channel_id: str, ref: str | None) -> str:
        """Subscribe `user` to `ref`'s incident (else the channel's); a private incident only for the
        members of its channel, refused as if there were no such incident."""
        if not steps.recorded("record")[0]:
            await self._may_subscribe(user, channel_id, ref)

        async def record(s: AsyncSession) -> dict[str, Any]:
            repo = IncidentRepo(s, self.team_id)
            incident = await (repo.by_ref(ref) if ref else repo.by_channel(channel_id))
            assert incident is not None, "incidents are never deleted"
            new = await SubscriptionRepo(s, self.team_id).add(incident.id, user, steps.at)
            return {"incident": incident.id, "new": new}

        done = await steps.db("record", record)
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(done["incident"])
        assert incident is not None
        if done["new"]:
            log.info("%s subscribed to %s", user, incident.ref, extra={"incident_id": incident.id})
        return templates.subscribed(incident, done["new"])

    async def _may_subscribe(self, user: str, channel_id: str, ref: str | None) -> None:
        """Refuse an incident that is not there, not open, or private to a channel `user` is not in
        (said as if there were no such incident: nothing about it reaches a non-member)."""
        async with self.db.session() as s:
            repo = IncidentRepo(s, self.team_id)
            incident = await (repo.by_ref(ref) if ref else repo.by_channel(channel_id))
        members = await self._members(incident) if incident is not None else set()
        if incident is None or (members is not None and user not in members):
            if ref:
                raise IncidentError(f"There is no incident {ref} you can subscribe to.")
            raise IncidentError("Which incident? Give its number, like `/incident subscribe INC-12`.")
        if not incident.is_open:
            raise IncidentError(f"{incident.ref} is already resolved: there is no more news to send.")

    async def unsubscribe(self, steps: Steps, user: str, channel_id: str, ref: str | None) -> str:
        """Stop `user`'s DMs about `ref`'s incident (else the channel's); answered by its ref alone."""

        async def record(s: AsyncSession) -> dict[str, Any] | None:
            repo = IncidentRepo(s, self.team_id)
            incident = await (repo.by_ref(ref) if ref else repo.by_channel(channel_id))
            if incident is None:
                return None
            removed = await SubscriptionRepo(s, self.team_id).remove(incident.id, user)
            return {"ref": incident.ref, "removed": removed}

        done = await steps.db("record", record)
        if done is None:
            if not ref:
                raise IncidentError("Which incident? Give its number, like `/incident unsubscribe INC-12`.")
            return templates.unsubscribed(ref.upper(), False)
        return templates.unsubscribed(done["ref"], done["removed"])

    async def mine(self, user: str) -> Message:
        """`user`'s subscriptions; a private incident's title only while they are in its channel."""
        async with self.db.session() as s:
            incidents = await SubscriptionRepo(s, self.team_id).of_user(user)
        theirs = await self.slack.private_channels_of(user) if any(i.private for i in incidents) else set()
        return templates.subscription_list([(i, not i.private or i.channel_id in theirs) for i in incidents])

    async def tell(
        self,
        out: Outcome,
        kind: Kind,
        by: str | None,
        text: str = "",
        *,
        previous: str | None = None,
        ts: str | None = None,
    ) -> None:
        """Queue the news of `out`'s incident for its subscribers: once per request, however often it
        is retried, and only when someone is subscribed."""
        steps, incident = out.steps, out.incident
        if steps.recorded("subscribers")[0]:
            return
        async with self.db.session() as s:
            anyone = await SubscriptionRepo(s, self.team_id).subscribers(incident.id)
        if anyone:
            done, key = steps.recorded("subscribers_key")
            if not done:
                key = uuid.uuid4().hex
                await steps.record("subscribers_key", key)
            news = News(
                key=key,
                incident=incident.id,
                channel=incident.channel_id or "",
                kind=kind,
                by=by,
                at=steps.at,
                text=text,
                status=incident.status,
                previous=previous,
                ts=ts,
            )
            await self.intake.keep(news)
        await steps.record("subscribers", True)

    async def send(self, steps: Steps, news: News) -> None:
        """DM the news to each subscriber not sent it yet (its author aside); a DM Slack refuses for good
        is logged and the others still go."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(news.incident)
            users = await SubscriptionRepo(s, self.team_id).subscribers(news.incident) if incident else []
        users = [u for u in users if u != news.by]
        if incident is None or not users:
            return
        members = await self._members(incident)  # removed from a private channel: nothing more
        users = [u for u in users if members is None or u in members]
        out = Outcome(incident, steps)
        await self._fan_out(out, users, await self._message(incident, news))
        log.info(
            "sent %s's %s to %d subscribers",
            incident.ref,
            news.kind,
            len(users),
            extra={"incident_id": incident.id},
        )

    async def _message(self, incident: Incident, news: News) -> Message:
        if news.kind == "resolved":
            return templates.resolved_dm(incident, news.text, news.by, news.at)
        if news.kind == "severity":
            return templates.severity_dm(
                incident, Severity(news.previous or incident.severity), news.by, news.at
            )
        permalink = await self.slack.permalink(news.channel, news.ts) if news.ts else None
        status = Status(news.status or incident.status)
        previous = Status(news.previous) if news.previous else status
        return templates.update_dm(incident, news.text, status, previous, news.by, news.at, permalink)

    async def _fan_out(self, out: Outcome, users: list[str], message: Message) -> None:
        """One DM step each, FAN_OUT at a time; after a failure worth retrying no new DM starts, those in
        flight finish (and are recorded), then the failure is raised so the request is retried."""
        todo = iter(users)
        failures: list[BaseException] = []

        async def sender() -> None:
            for user in todo:
                if failures:
                    return
                try:
                    await out.step(f"dm:{user}", partial(self.slack.dm, user, message))
                except Exception as exc:
                    failures.append(exc)
                    return

        await asyncio.gather(*(sender() for _ in range(min(FAN_OUT, len(users)))))
        if failures:
            raise failures[0]
