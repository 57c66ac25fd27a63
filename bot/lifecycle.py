"""Incident lifecycle: declare, update, resolve. Knows the database and Slack, not Slack payloads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from bot import logs, plans
from bot.clock import Clock
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.severity import Severity, Status
from bot.slack_ops import SlackOpError, SlackOps
from config.policy import Policy
from messages import incident as templates
from messages import pages
from storage.db import Database
from storage.models import Incident, IncidentUpdate
from storage.repositories import IncidentRepo, TimelineRepo
from storage.schedule import PAGE, REMINDER, ScheduleRepo

log = logging.getLogger(__name__)
T = TypeVar("T")


class IncidentError(Exception):
    """A request the incident process refuses; the message is for the person who asked."""


@dataclass
class Outcome:
    """An incident after a lifecycle step, plus anything that went wrong on the way."""

    incident: Incident
    warnings: list[str] = field(default_factory=list)

    async def step(self, coro: Awaitable[T]) -> T | None:
        """Run one Slack step; a failure becomes a warning so the rest still happens."""
        try:
            return await coro
        except SlackOpError as exc:
            log.warning("%s failed: %s", exc.what, exc.error, extra={"incident_id": self.incident.id})
            self.warnings.append(f"{exc.what} failed ({exc.error})")
            return None


class Lifecycle:
    """Use cases over one database, one Slack client, the policy and a clock."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        policy: Policy,
        clock: Clock,
        metrics: Metrics | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.db, self.slack, self.policy, self.clock = db, slack, policy, clock
        self.metrics = metrics or Metrics()
        self.outbox = outbox or Outbox(db, policy, clock)
        # Set by the runtime: asks the scheduler for a tick now (new rows may be due at once).
        self.wake: Callable[[], None] = lambda: None

    def next_update_due(self, severity: Severity, since: datetime) -> datetime | None:
        """When the commander owes the next update, from the severity's cadence."""
        return plans.next_update_due(self.policy, severity.value, since)

    async def change_severity(self, channel_id: str, severity: Severity, by: str) -> Outcome:
        """Record and post a new severity; re-plan pages (newly reached levels, or cancel) and reminders."""
        await self._open_incident(channel_id, "severity")
        now = self.clock.now()
        async with self.db.session() as s:
            incident = await IncidentRepo(s).by_channel(channel_id, for_update=True)
            if incident is None or not incident.is_open:
                raise IncidentError("This incident was resolved a moment ago.")
            old = incident.severity
            if old == severity.value:
                raise IncidentError(f"{incident.ref} is already {old}.")
            incident.severity = severity.value
            last = await IncidentRepo(s).last_update(incident.id)
            incident.next_update_due = plans.next_update_due(
                self.policy, severity.value, last.posted_at if last else incident.declared_at
            )
            schedule = ScheduleRepo(s)
            await plans.replan_severity(schedule, self.policy, incident, old, now)
            await plans.replan_reminder(schedule, incident, now, "severity changed")
            await TimelineRepo(s).record(
                incident.id, "severity", f"Severity changed from {old} to {severity.value}", now, author_id=by
            )
            await self.outbox.record(
                s, incident, "severity_changed", {"from": old, "to": severity.value, "by": by}
            )
        self.wake()
        out = Outcome(incident)
        await out.step(self.slack.post(channel_id, pages.severity_changed(incident, old, by)))
        await out.step(self.slack.set_topic(channel_id, templates.incident_topic(incident)))
        return out

    async def declare(
        self, severity: Severity, title: str, declared_by: str | None, impact: str | None = None
    ) -> Outcome:
        """Open the channel, record the incident, invite the commander, post, pin and announce."""
        now = self.clock.now()
        try:
            channel = await self.slack.create_incident_channel(self.policy.channel_prefix, now, title)
        except SlackOpError as exc:
            raise IncidentError(
                f"Could not create the incident channel ({exc.error}); nothing was declared."
            ) from exc
        incident = Incident(
            channel_id=channel.id,
            channel_name=channel.name,
            title=title,
            impact=impact or None,
            severity=severity.value,
            status=Status.INVESTIGATING.value,
            commander_id=declared_by,
            declared_by=declared_by,
            declared_at=now,
            next_update_due=self.next_update_due(severity, now),
        )
        async with self.db.session() as s:
            await IncidentRepo(s).add(incident)
            await plans.plan_new_incident(ScheduleRepo(s), self.policy, incident)
            await TimelineRepo(s).record(
                incident.id, "declared", f"Declared {severity.value}: {title}", now, author_id=declared_by
            )
            await self.outbox.record(s, incident, "declared", {"declared_by": declared_by, "impact": impact})
        log.info(
            "declared %s %s in #%s",
            incident.ref,
            severity.value,
            channel.name,
            extra={"incident_id": incident.id},
        )
        logs.bind(incident_id=incident.id)
        self.metrics.declared.labels(severity.value).inc()
        self.wake()  # L1 is due at declaration
        out = Outcome(incident)
        # Independent steps run side by side: the initial post lands one round trip after the
        # channel exists, whatever Slack's latency.
        steps = [
            out.step(self.slack.set_topic(channel.id, templates.incident_topic(incident))),
            self._post_initial(out, incident),
            out.step(self.slack.post_joining(self.policy.announce_channel, templates.announcement(incident))),
        ]
        if declared_by:  # an Alertmanager declaration has no commander until someone takes it
            steps.insert(0, out.step(self.slack.invite(channel.id, [declared_by])))
        await asyncio.gather(*steps)
        return out

    async def _post_initial(self, out: Outcome, incident: Incident) -> None:
        """Post the initial template, pin it, remember its ts."""
        channel_id = incident.channel_id or ""
        ts = await out.step(self.slack.post(channel_id, templates.initial(incident)))
        if not ts:
            return
        async with self.db.session() as s:
            row = await IncidentRepo(s).get(incident.id)
            assert row is not None
            row.initial_message_ts = ts
        incident.initial_message_ts = ts
        await out.step(self.slack.pin(channel_id, ts))

    async def overview(self, channel_id: str) -> tuple[Incident, IncidentUpdate | None]:
        """The channel's incident and its latest update, for `/incident status`."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s).by_channel(channel_id)
            if incident is None:
                raise IncidentError("`/incident status` only works in an incident channel.")
            return incident, await IncidentRepo(s).last_update(incident.id)

    async def open_counts(self) -> dict[str, int]:
        """Open incidents per severity."""
        async with self.db.session() as s:
            return await IncidentRepo(s).open_counts()

    async def open_incidents(self) -> list[Incident]:
        """Every unresolved incident, oldest first."""
        async with self.db.session() as s:
            return await IncidentRepo(s).open_incidents()

    async def _open_incident(self, channel_id: str, action: str) -> Incident:
        async with self.db.session() as s:
            incident = await IncidentRepo(s).by_channel(channel_id)
        if incident is None:
            raise IncidentError(f"`/incident {action}` only works in an incident channel.")
        logs.bind(incident_id=incident.id)
        if not incident.is_open:
            raise IncidentError(f"{incident.ref} is already resolved.")
        return incident

    async def update(self, channel_id: str, author: str, status: Status | None, text: str) -> Outcome:
        """Record and post a status update; moves the status when one is given."""
        await self._open_incident(channel_id, "update")
        now = self.clock.now()
        async with self.db.session() as s:
            repo = IncidentRepo(s)
            incident = await repo.by_channel(channel_id, for_update=True)
            if incident is None or not incident.is_open:
                raise IncidentError("This incident was resolved a moment ago.")
            previous = Status(incident.status)
            new_status = status or previous
            incident.status = new_status.value
            incident.next_update_due = self.next_update_due(Severity(incident.severity), now)
            upd = await repo.add_update(
                IncidentUpdate(
                    incident_id=incident.id,
                    author_id=author,
                    status=new_status.value,
                    text=text,
                    posted_at=now,
                )
            )
            await plans.replan_reminder(ScheduleRepo(s), incident, now, "update posted")
            moved = f"{previous.label} → {new_status.label}" if new_status != previous else new_status.label
            await TimelineRepo(s).record(
                incident.id, "update", f"Update ({moved}): {text}", now, author_id=author
            )
            data = {"status": new_status.value, "previous_status": previous.value, "text": text, "by": author}
            await self.outbox.record(s, incident, "updated", data)
        out = Outcome(incident)
        ts = await out.step(self.slack.post(channel_id, templates.update(incident, upd, previous)))
        if ts:
            async with self.db.session() as s:
                row = await s.get(IncidentUpdate, upd.id)
                if row is not None:
                    row.message_ts = ts
        if new_status != previous:
            await out.step(self.slack.set_topic(channel_id, templates.incident_topic(incident)))
        return out

    async def resolve(self, channel_id: str, author: str, summary: str) -> Outcome:
        """Resolve once (a second resolve is refused), post the resolution and announce it."""
        incident = await self._open_incident(channel_id, "resolve")
        now = self.clock.now()
        async with self.db.session() as s:
            repo = IncidentRepo(s)
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
            schedule = ScheduleRepo(s)
            await schedule.cancel(incident.id, PAGE, now, "resolved")
            await schedule.cancel(incident.id, REMINDER, now, "resolved")
            await TimelineRepo(s).record(
                incident.id, "resolved", f"Resolved: {summary}", now, author_id=author
            )
            incident = await repo.get(incident.id)  # type: ignore[assignment]
            await s.refresh(incident)
            await self.outbox.record(s, incident, "resolved", {"summary": summary, "by": author})
        self.metrics.resolved.labels(incident.severity).inc()
        if incident.resolved_at:
            self.metrics.time_to_resolve.observe(
                (incident.resolved_at - incident.declared_at).total_seconds()
            )
        out = Outcome(incident)
        await out.step(self.slack.post(channel_id, templates.resolution(incident)))
        await out.step(self.slack.set_topic(channel_id, templates.incident_topic(incident)))
        await out.step(
            self.slack.post_joining(
                self.policy.announce_channel, templates.resolution_announcement(incident)
            ),
        )
        return out
