"""Incident lifecycle: declare, update, resolve. Knows the database and Slack, not Slack payloads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.policy import Policy
from domain.errors import IncidentError
from domain.fields import Value
from domain.severity import Severity, Status
from domain.workspace import Team
from messages import incident as templates
from messages import pages
from messages.variables import resolution_vars, update_vars
from runtime import logs
from runtime.clock import Clock
from runtime.journal import Outcome, Steps
from runtime.metrics import Metrics
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from services import plans
from services.announcements import Announcements
from services.catalog import ServiceCatalog
from services.channels import open_channel
from services.fields import record_declared
from services.runbook_cards import RunbookCards
from services.subscriptions import Subscriptions
from services.wording import Wording
from storage.db import Database
from storage.models import Incident, IncidentUpdate
from storage.repositories import IncidentRepo, TimelineRepo
from storage.schedule import PAGE, PAGE_UPDATE, REMINDER, WORKFLOW_REMIND, ScheduleRepo

log = logging.getLogger(__name__)


async def settle(*steps: Awaitable[Any]) -> None:
    """Run independent steps side by side; all finish (none is left running) before a failure is raised."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


class Lifecycle:
    """Use cases over one database, one Slack client, the policy and a clock.

    Each takes the `Steps` of the request it carries out: the database change is one recorded step,
    each Slack call another, so a retry after a crash or a Slack outage continues where it stopped.
    """

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        policy: Policy,
        clock: Clock,
        metrics: Metrics,
        outbox: Outbox,
        team: Team,
        catalog: ServiceCatalog,
        cards: RunbookCards,
        announcements: Announcements,
        subscriptions: Subscriptions,
        words: Wording,
    ) -> None:
        self.db, self.slack, self.policy, self.clock, self.words = db, slack, policy, clock, words
        self.catalog, self.cards, self.announcements = catalog, cards, announcements
        self.team, self.team_id = team, team.team_id
        self.metrics, self.outbox = metrics, outbox
        self.subscriptions = subscriptions  # told each update, resolution and change of severity
        # Set by the runtime: asks the scheduler for a tick now (new rows may be due at once).
        self.wake: Callable[[], None] = lambda: None

    def next_update_due(self, severity: Severity, since: datetime) -> datetime | None:
        """When the commander owes the next update, from the severity's cadence."""
        return plans.next_update_due(self.policy, severity, since)

    async def _load(self, incident_id: int) -> Incident:
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(incident_id)
        assert incident is not None, f"incident {incident_id} vanished"
        logs.bind(incident_id=incident.id)
        return incident

    async def change_severity(self, steps: Steps, channel_id: str, severity: Severity, by: str) -> Outcome:
        """Record and post a new severity; re-plan pages (newly reached levels, or cancel) and reminders."""

        async def record(s: AsyncSession) -> dict[str, Any]:
            now = steps.at
            incident = await _open_for_update(s, self.team_id, channel_id, "severity")
            old = incident.severity
            if old == severity:
                raise IncidentError(f"{incident.ref} is already {old}.")
            incident.severity = severity
            last = await IncidentRepo(s, self.team_id).last_update(incident.id)
            incident.next_update_due = plans.next_update_due(
                self.policy, severity, last.posted_at if last else incident.declared_at
            )
            schedule = ScheduleRepo(s, self.team_id)
            await plans.replan_severity(
                schedule, self.catalog.policy_for(incident.service), incident, old, now
            )
            await plans.replan_reminder(schedule, incident, now, "severity changed")
            await TimelineRepo(s).record(
                incident.id, "severity", f"Severity changed from {old} to {severity.value}", now, author_id=by
            )
            await self.outbox.record(
                s, incident, "severity_changed", {"from": old, "to": severity.value, "by": by}
            )
            return {"incident": incident.id, "old": old}

        done = await steps.db("record", record)
        self.wake()
        incident = await self._load(done["incident"])
        out = Outcome(incident, steps)
        await out.step(
            "post", lambda: self.slack.post(channel_id, pages.severity_changed(incident, done["old"], by))
        )
        await self.subscriptions.tell(out, "severity", by, previous=done["old"])
        await out.step("topic", lambda: self.slack.set_topic(channel_id, templates.incident_topic(incident)))
        await self.announcements.severity_changed(out, incident, done["old"], by)
        return out

    async def declare(
        self,
        steps: Steps,
        severity: Severity,
        title: str,
        declared_by: str | None,
        impact: str | None = None,
        private: bool = False,
        service: str | None = None,
        runbook_url: str | None = None,
        fields: Mapping[str, Value] | None = None,
    ) -> Outcome:
        """Open the channel, record the incident (with its `fields`), invite the commander, post, pin
        and announce.

        Declared at `steps.at` (the request's acknowledgement), so a retry keeps the same time. A
        private incident's channel is private and its announcement names no title, impact or link.
        A service's incident pages along the service's escalation, and gets its runbook card.
        """
        at = steps.at
        channel = await open_channel(self.slack, self.policy.channel_prefix, steps, title, private)

        async def record(s: AsyncSession) -> int:
            incident = Incident(
                channel_id=channel.id,
                channel_name=channel.name,
                title=title,
                impact=impact or None,
                severity=severity,
                status=Status.INVESTIGATING.value,
                commander_id=declared_by,
                declared_by=declared_by,
                declared_at=at,
                next_update_due=self.next_update_due(severity, at),
                enterprise_id=self.team.enterprise_id,
                private=private,
                service=service,
                runbook_url=runbook_url,
            )
            await IncidentRepo(s, self.team_id).add(incident)
            policy = self.catalog.policy_for(service)
            await plans.plan_new_incident(ScheduleRepo(s, self.team_id), policy, incident)
            await TimelineRepo(s).record(
                incident.id, "declared", f"Declared {severity.value}: {title}", at, author_id=declared_by
            )
            await record_declared(s, self.policy, incident, fields or {}, declared_by)
            await self.outbox.record(s, incident, "declared", {"declared_by": declared_by, "impact": impact})
            return incident.id

        fresh = not steps.recorded("record")[0]
        incident = await self._load(await steps.db("record", record))
        if fresh:
            log.info(
                "declared %s %s in #%s",
                incident.ref,
                severity.value,
                channel.name,
                extra={"incident_id": incident.id},
            )
            self.metrics.declared.labels(severity.value).inc()
        self.wake()  # L1 is due at declaration
        out = Outcome(incident, steps)
        # Independent steps run side by side: the initial post lands one round trip after the
        # channel exists, whatever Slack's latency.
        work = [
            out.step("topic", lambda: self.slack.set_topic(channel.id, templates.incident_topic(incident))),
            self._post_initial(out, incident),
            self.announcements.announce(out, incident),
        ]
        if declared_by:  # an Alertmanager declaration has no commander until someone takes it
            work.insert(0, out.step("invite", lambda: self.slack.invite(channel.id, [declared_by])))
        await settle(*work)
        return out

    async def _post_initial(self, out: Outcome, incident: Incident) -> None:
        """Post the initial template, pin it, remember its ts; then a service's runbook card below it."""
        channel_id = incident.channel_id or ""
        message = templates.initial(incident, await self.words.sections("initial", incident))
        ts = await out.step("post_initial", lambda: self.slack.post(channel_id, message))
        if ts:
            await self._remember_initial(out, incident, ts)
        await self.cards.post_matched(out, incident)

    async def _remember_initial(self, out: Outcome, incident: Incident, ts: str) -> None:
        channel_id = incident.channel_id or ""

        async def remember(s: AsyncSession) -> None:
            row = await IncidentRepo(s, self.team_id).get(incident.id)
            assert row is not None
            row.initial_message_ts = ts

        await out.steps.db("initial_ts", remember)
        incident.initial_message_ts = ts
        await out.step("pin", lambda: self.slack.pin(channel_id, ts))

    async def overview(self, channel_id: str) -> tuple[Incident, IncidentUpdate | None]:
        """The channel's incident and its latest update, for `/incident status`."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
            if incident is None:
                raise IncidentError("`/incident status` only works in an incident channel.")
            return incident, await IncidentRepo(s, self.team_id).last_update(incident.id)

    async def channel_of(self, incident_id: int) -> str | None:
        """The incident's channel (None when unknown)."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(incident_id)
        return incident.channel_id if incident else None

    async def open_counts(self) -> dict[str, int]:
        """Open incidents per severity."""
        async with self.db.session() as s:
            return await IncidentRepo(s, self.team_id).open_counts()

    async def open_incidents(self, seen_by: str | None = None) -> list[Incident]:
        """Every unresolved incident, oldest first; given `seen_by`, a private one only when that
        person is a member of its channel."""
        async with self.db.session() as s:
            found = await IncidentRepo(s, self.team_id).open_incidents()
        if seen_by is None or not any(i.private for i in found):
            return found
        theirs = await self.slack.private_channels_of(seen_by)
        return [i for i in found if not i.private or i.channel_id in theirs]

    async def update(
        self, steps: Steps, channel_id: str, author: str, status: Status | None, text: str
    ) -> Outcome:
        """Record and post a status update; moves the status when one is given."""

        async def record(s: AsyncSession) -> dict[str, Any]:
            now = steps.at
            incident = await _open_for_update(s, self.team_id, channel_id, "update")
            previous = Status(incident.status)
            new_status = status or previous
            incident.status = new_status.value
            incident.next_update_due = self.next_update_due(incident.severity, now)
            upd = await IncidentRepo(s, self.team_id).add_update(
                IncidentUpdate(
                    incident_id=incident.id,
                    author_id=author,
                    status=new_status.value,
                    text=text,
                    posted_at=now,
                )
            )
            await plans.replan_reminder(ScheduleRepo(s, self.team_id), incident, now, "update posted")
            moved = f"{previous.label} → {new_status.label}" if new_status != previous else new_status.label
            await TimelineRepo(s).record(
                incident.id, "update", f"Update ({moved}): {text}", now, author_id=author
            )
            data = {"status": new_status.value, "previous_status": previous.value, "text": text, "by": author}
            await self.outbox.record(s, incident, "updated", data)
            return {"incident": incident.id, "update": upd.id, "previous": previous.value}

        done = await steps.db("record", record)
        incident = await self._load(done["incident"])
        async with self.db.session() as s:
            upd = await s.get(IncidentUpdate, done["update"])
        assert upd is not None
        previous = Status(done["previous"])
        out = Outcome(incident, steps)
        said = await self.words.sections("update", incident, update=update_vars(upd, previous))
        ts = await out.step(
            "post", lambda: self.slack.post(channel_id, templates.update(incident, upd, said))
        )
        if ts:

            async def remember(s: AsyncSession) -> None:
                row = await s.get(IncidentUpdate, upd.id)
                if row is not None:
                    row.message_ts = ts

            await steps.db("message_ts", remember)
        await self.subscriptions.tell(out, "update", author, text, previous=previous.value, ts=ts)
        if Status(upd.status) != previous:
            await out.step(
                "topic", lambda: self.slack.set_topic(channel_id, templates.incident_topic(incident))
            )
            await self.announcements.status_changed(out, incident)
        return out

    async def resolve(self, steps: Steps, channel_id: str, author: str, summary: str) -> Outcome:
        """Resolve once (a second resolve is refused), post the resolution and announce it."""

        async def record(s: AsyncSession) -> int:
            now = steps.at
            incident = await _open_for_update(s, self.team_id, channel_id, "resolve")
            repo = IncidentRepo(s, self.team_id)
            if not await repo.mark_resolved(incident.id, now, summary):
                raise IncidentError(f"{incident.ref} is already resolved.")
            await repo.add_update(
                IncidentUpdate(
                    incident_id=incident.id,
                    author_id=author,
                    status=Status.RESOLVED.value,
                    text=summary,
                    posted_at=now,
                )
            )
            schedule = ScheduleRepo(s, self.team_id)
            await schedule.cancel(incident.id, PAGE, now, "resolved")
            await schedule.cancel(incident.id, REMINDER, now, "resolved")
            await schedule.cancel(incident.id, WORKFLOW_REMIND, now, "resolved")
            await schedule.plan(incident.id, PAGE_UPDATE, now)  # every page DM: resolved, buttons gone
            await TimelineRepo(s).record(
                incident.id, "resolved", f"Resolved: {summary}", now, author_id=author
            )
            await s.refresh(incident)
            await plans.plan_after_resolution(schedule, self.policy, incident)
            data = {"summary": summary, "by": author, "previous_status": incident.status_before_resolve}
            await self.outbox.record(s, incident, "resolved", data)
            return incident.id

        fresh = not steps.recorded("record")[0]
        incident = await self._load(await steps.db("record", record))
        if fresh:
            self.metrics.resolved.labels(incident.severity).inc()
            if incident.resolved_at and incident.duplicate_of is None:  # a duplicate's time is no MTTR
                self.metrics.time_to_resolve.observe(
                    (incident.resolved_at - incident.declared_at).total_seconds()
                )
        out = Outcome(incident, steps)
        said = await self.words.sections(
            "resolution", incident, **resolution_vars(summary, templates.follow_ups(incident))
        )
        await out.step("post", lambda: self.slack.post(channel_id, templates.resolution(incident, said)))
        await self.subscriptions.tell(out, "resolved", author, summary)
        await out.step("topic", lambda: self.slack.set_topic(channel_id, templates.incident_topic(incident)))
        await self.announcements.resolved(out, incident)
        return out


async def _open_for_update(s: AsyncSession, team_id: str, channel_id: str, action: str) -> Incident:
    """The channel's open incident, locked for the change; a refusal otherwise."""
    incident = await IncidentRepo(s, team_id).by_channel(channel_id, for_update=True)
    if incident is None:
        raise IncidentError(f"`/incident {action}` only works in an incident channel.")
    logs.bind(incident_id=incident.id)
    if not incident.is_open:
        raise IncidentError(f"{incident.ref} is already resolved.")
    return incident
