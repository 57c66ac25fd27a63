"""Escalation by DM along the levels: the `page` job, acknowledgements, escalate-now.

Pages are scheduled jobs (runtime.jobs claims them, fenced). Where a crash can still double or drop a
page, by design (a page is at-least-once per person; missing one is worse than a repeat):
  1. A worker dies after Slack accepted a DM but before its delivery row is marked sent: when the
     claim's lease runs out, another worker re-claims the job and DMs that person again.
  2. A worker stalls longer than the lease (a GC pause, a frozen VM) while holding a claim: another
     worker re-claims; the fence check before each DM stops the stale one, except for a DM already
     in flight at that moment, which can arrive twice.
  3. A worker dies holding a claim: the page waits for the lease to expire, but is not lost. Nothing
     is lost across restarts: due rows are sent, marked late, when the bot is back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.escalation import ACK_TIMEOUT, Level
from config.policy import Policy
from domain.errors import IncidentError
from domain.severity import Severity
from messages import pages as templates
from messages.blocks import utc_when
from messages.variables import page_vars
from runtime.clock import Clock
from runtime.jobs import Jobs
from runtime.journal import Outcome, Steps
from runtime.metrics import Metrics
from runtime.outbox import Outbox
from runtime.retry import is_transient, retry_delay
from runtime.slack_ops import SlackOpError, SlackOps
from services.catalog import ServiceCatalog
from services.oncall import OnCall
from services.page_updates import PageUpdates
from services.plans import next_level_to_page, paged_level, reach
from services.wording import Wording
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo, TimelineRepo
from storage.schedule import DONE, PAGE, PENDING, Claim, DeliveryRepo, ScheduleRepo

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(seconds=30)


class Escalation:
    """Pages due levels (the `page` job), acknowledgements, escalate-now."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        policy: Policy,
        catalog: ServiceCatalog,
        clock: Clock,
        metrics: Metrics,
        outbox: Outbox,
        oncall: OnCall,
        jobs: Jobs,
        team_id: str,
        updates: PageUpdates,
        words: Wording,
    ) -> None:
        self.db, self.slack, self.policy, self.clock = db, slack, policy, clock
        self.catalog, self.updates, self.words = catalog, updates, words
        self.metrics, self.outbox, self.oncall, self.team_id = metrics, outbox, oncall, team_id
        self.jobs = jobs  # escalate-now runs the page it plans at once

    async def level_users(self, level: Level) -> list[str]:
        """Who a level pages now: its schedule's on-call (or fallback), else its users and user group."""
        if level.schedule:
            return list(await self.oncall.now(level.schedule))  # the fallback in a gap
        users = list(level.users)
        group = level.usergroup
        try:
            if level.handle:  # a service's runbook names its level by handle
                group = await self.slack.usergroup_id(level.handle)
                if group is None:
                    log.warning("no Slack user group %s (named by %s)", level.handle, level.name)
            if group:
                users += [u for u in await self.slack.usergroup_members(group) if u not in users]
        except Exception as exc:  # a page must still reach the listed users
            log.warning("could not read user group %s: %s", level.handle or group, exc)
        return users

    def policy_of(self, incident: Incident) -> Policy:
        """The policy of this incident's escalation: its service's, else the workspace's."""
        return self.catalog.policy_for(incident.service)

    async def page(self, claim: Claim) -> None:
        """The `page` job: DM each person of the claimed level, once; say on the timeline who was paged."""
        ladder = claim.schedule is None  # else a schedule's on-call, paged now by a workflow
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(claim.incident_id)
            if incident is not None and incident.is_open:
                since = await self.updates.since(s, incident)  # the declaration, or the last reopen
                status = await self.updates.status(s, incident, since)
                upcoming = await self.updates.upcoming(s, incident, claim.level, bool(status.acks))
        if incident is None or not incident.is_open:
            await self._skip(claim, "resolved")
            return
        policy = self.policy_of(incident)
        level = paged_level(policy, claim.level, claim.schedule)
        if ladder and (claim.level or 0) > reach(policy, incident.severity):
            await self._skip(claim, "out of reach")
            return
        planned = since + policy.level_after(claim.level or 0, incident.severity)
        if ladder and level.after == ACK_TIMEOUT and status.acks and claim.due_at >= planned:
            await self._skip(claim, "acknowledged in time")  # escalate-now (due earlier) still pages
            return
        now = self.clock.now()
        late_since = claim.due_at if now - claim.due_at > LATE_AFTER else None
        users = await self.level_users(level)
        # From the database only: a calendar missing or stale is said on the timeline, never fetched.
        copy = await self.oncall.copy_note(level.schedule) if level.schedule else None
        retry_at: datetime | None = None
        gave_up: list[tuple[str, str]] = []
        earlier = False  # DMs an earlier attempt of this job sent, from a state not known now
        for user in users:
            async with self.db.session() as s:
                if not await ScheduleRepo(s, self.team_id).holds(claim):
                    log.warning("job %s was re-claimed by another worker; stopping", claim.job_id)
                    return
                delivery = await DeliveryRepo(s).reserve(claim, user)
                if delivery is not None and delivery.first_attempt_at is None:
                    delivery.first_attempt_at = now
            if delivery is None:
                earlier = True
                continue  # paged (or given up on) by an earlier attempt of this job
            # The team's wording, else the shipped one: a page is never lost to its template.
            head = await self.words.sections("page", incident, **page_vars(level.name, level.title, user))
            message = templates.page_dm(
                incident,
                head,
                level.name,
                level.title,
                now,
                delivery.id,
                late_since,
                upcoming,
                copy,
                status,
            )
            try:
                channel, ts = await self.slack.dm(user, message)
            except Exception as exc:
                if not isinstance(exc, SlackOpError) and not is_transient(exc):
                    raise
                error = exc.error if isinstance(exc, SlackOpError) else f"{type(exc).__name__}: {exc}"
                first = delivery.first_attempt_at or now
                give_up = not is_transient(exc) or now - first >= self.policy.delivery.inbound_give_up
                log.warning(
                    "could not page %s (%s): %s",
                    user,
                    "giving up" if give_up else "will retry",
                    error,
                    extra={"incident_id": incident.id},
                )
                async with self.db.session() as s:
                    row = await DeliveryRepo(s).get(self.team_id, delivery.id)
                    if row is not None:
                        row.attempts, row.last_error = row.attempts + 1, error[:300]
                        if give_up:
                            row.given_up_at = self.clock.now()
                if give_up:
                    gave_up.append((user, error))
                    self.metrics.pages_failed.labels(level.name).inc()
                else:
                    at = self.clock.now() + retry_delay(self.policy.delivery, delivery.attempts + 1, exc)
                    retry_at = min(retry_at, at) if retry_at else at
                continue
            async with self.db.session() as s:
                row = await DeliveryRepo(s).get(self.team_id, delivery.id)
                if row is not None:
                    row.sent_at, row.dm_channel, row.dm_ts = self.clock.now(), channel, ts
            self.metrics.pages_sent.labels(level.name).inc()
        # Acknowledged or resolved while these DMs went out: the pass over them may have run before.
        await self.updates.recheck(claim, None if earlier else status)
        if gave_up:
            await self._say_not_paged(incident, level, gave_up)
        async with self.db.session() as s:
            schedule = ScheduleRepo(s, self.team_id)
            if retry_at is not None:
                await schedule.retry(claim, retry_at)
                return
            if not await schedule.finish(claim, self.clock.now(), DONE, "late" if late_since else None):
                return
            paged = await DeliveryRepo(s).sent_for_job(claim.job_id)
            who = ", ".join(f"<@{u}>" for u in paged) or "nobody (no users configured or reachable)"
            late = f" (late: due {utc_when(late_since, self.clock.now())})" if late_since else ""
            what = level.named
            if level.schedule and ladder:
                what = f"{level.schedule} on-call ({what})"
            said = f"Paged {what}: {who}{late}" + (f" — {copy}" if copy else "")
            await TimelineRepo(s).record(incident.id, "paged", said, self.clock.now())
            data = {"level": level.name, "title": level.title, "users": paged, "late": bool(late_since)}
            if not ladder:
                data["schedule"] = level.schedule
            await self.outbox.record(s, incident, "paged", data, level=level)
        log.info("paged %s for %s: %s", level.name, incident.ref, paged, extra={"incident_id": incident.id})

    async def _skip(self, claim: Claim, why: str) -> None:
        """Close a page job without paging; DMs an earlier attempt of it sent are still brought up to date."""
        await self.updates.recheck(claim, None)
        await self.jobs.skip(claim, why)

    async def _say_not_paged(self, incident: Incident, level: Level, failed: list[tuple[str, str]]) -> None:
        """Tell the incident channel (and the timeline) who could not be paged, and why."""
        text = "; ".join(f"<@{user}> ({error})" for user, error in failed)
        async with self.db.session() as s:
            await TimelineRepo(s).record(
                incident.id,
                "page_failed",
                f"Could not page {level.named}: {text}",
                self.clock.now(),
            )
        try:
            await self.slack.post(
                incident.channel_id or "", templates.page_failed(incident, level.name, failed)
            )
        except SlackOpError as exc:
            log.error("could not say in the channel who was not paged: %s", exc)

    async def acknowledge(self, steps: Steps, delivery_id: int, user: str) -> str | None:
        """Acknowledge a page: record (first one sets time-to-acknowledge), invite, update the DM.

        Only the person paged, or someone on the same level, may; never after the resolution."""
        if not steps.recorded("record")[0]:
            await self._may_acknowledge(delivery_id, user)

        async def record(s: AsyncSession) -> dict[str, Any]:
            now = steps.at
            delivery = await DeliveryRepo(s).get(self.team_id, delivery_id)
            if delivery is None:
                raise IncidentError("That page no longer exists.")
            incident = await IncidentRepo(s, self.team_id).get(delivery.incident_id)
            assert incident is not None
            if not incident.is_open:
                raise IncidentError(f"{incident.ref} is already resolved; there is nothing to acknowledge.")
            if delivery.acknowledged_at is not None:
                return {"already": delivery.acknowledged_by, "incident": incident.id}
            delivery.acknowledged_at, delivery.acknowledged_by = now, user
            if incident.acknowledged_at is None:
                incident.acknowledged_at = now
                self.metrics.time_to_acknowledge.observe((now - incident.declared_at).total_seconds())
            level = paged_level(self.policy_of(incident), delivery.level, delivery.schedule)
            self.metrics.pages_acknowledged.labels(level.name).inc()
            await TimelineRepo(s).record(
                incident.id,
                "acknowledged",
                f"<@{user}> acknowledged the {level.name} page",
                now,
                author_id=user,
            )
            await self.outbox.record(
                s, incident, "acknowledged", {"level": level.name, "by": user}, level=level
            )
            await self.updates.plan(s, incident.id, now)  # every page DM of it shows who, and when
            return {"incident": incident.id}

        done = await steps.db("record", record)
        if "already" in done:
            return f"Already acknowledged by <@{done['already']}>."
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(done["incident"])
        assert incident is not None
        out = Outcome(incident, steps)
        await out.step("invite", lambda: self.slack.invite(incident.channel_id or "", [user]))
        await self.jobs.tick()  # the page DMs change before the answer
        return None

    async def _may_acknowledge(self, delivery_id: int, user: str) -> None:
        """Refuse anyone but the person paged and the people on that level."""
        async with self.db.session() as s:
            delivery = await DeliveryRepo(s).get(self.team_id, delivery_id)
            incident = await IncidentRepo(s, self.team_id).get(delivery.incident_id) if delivery else None
        if delivery is None or incident is None:
            raise IncidentError("That page no longer exists.")
        if user == delivery.user_id:
            return
        level = paged_level(self.policy_of(incident), delivery.level, delivery.schedule)
        if user not in await self.level_users(level):
            raise IncidentError(
                f"This page was sent to <@{delivery.user_id}>; only they or someone on {level.name} "
                f"({level.title}) can acknowledge it."
            )

    async def escalate_now(self, steps: Steps, incident: Incident, by: str) -> str:
        """Page the next level at once; its scheduled time is then skipped. Returns what happened."""

        async def record(s: AsyncSession) -> str:
            now = steps.at
            locked = await IncidentRepo(s, self.team_id).by_channel(
                incident.channel_id or "", for_update=True
            )
            assert locked is not None
            if not locked.is_open:
                raise IncidentError(f"{incident.ref} is already resolved.")
            repo = ScheduleRepo(s, self.team_id)
            policy = self.policy_of(locked)
            index = await next_level_to_page(repo, policy, incident.id)
            if index is None:
                raise IncidentError("Every escalation level has already been paged.")
            if index > reach(policy, locked.severity):
                raise IncidentError(self._beyond_reach(locked, index))
            pending = [
                j for j in await repo.jobs(incident.id, PAGE) if j.level == index and j.state == PENDING
            ]
            if pending:
                for job in pending:
                    job.due_at, job.note = now, "manual"
            else:
                await repo.plan(incident.id, PAGE, now, level=index)
                [job] = [
                    j for j in await repo.jobs(incident.id, PAGE) if j.level == index and j.state == PENDING
                ]
                job.note = "manual"
            level = policy.escalation.levels[index]
            await TimelineRepo(s).record(
                incident.id,
                "escalated",
                f"<@{by}> escalated to {level.named} now",
                now,
                author_id=by,
            )
            return f"Escalated {incident.ref} to {level.titled}."

        said = await steps.db("record", record)
        await self.jobs.tick()  # the page goes out before the answer
        return said

    def _beyond_reach(self, incident: Incident, index: int) -> str:
        """Why escalate-now stops here, and which severity would page the next level."""
        policy = self.policy_of(incident)
        levels = policy.escalation.levels
        top, wanted = levels[reach(policy, incident.severity)], levels[index]
        said = (
            f"{incident.severity} reaches {top.titled}, which has already been paged; "
            f"{wanted.titled} is beyond it."
        )
        enough = [sev for sev in reversed(Severity) if reach(policy, sev) >= index]
        if not enough:
            return said + " No severity pages it."
        return said + f" To page {wanted.name}, raise the severity: `/incident severity {enough[0].key}`."

    async def incident_of_delivery(self, delivery_id: int) -> Incident:
        """The incident a page DM was about."""
        async with self.db.session() as s:
            delivery = await DeliveryRepo(s).get(self.team_id, delivery_id)
            incident = await IncidentRepo(s, self.team_id).get(delivery.incident_id) if delivery else None
        if incident is None:
            raise IncidentError("That page no longer exists.")
        return incident

    async def open_pages(self, incident: Incident) -> list[str]:
        """Pending pages of an incident, for `/incident status`."""
        async with self.db.session() as s:
            jobs = await ScheduleRepo(s, self.team_id).jobs(incident.id, PAGE)
        out, policy = [], self.policy_of(incident)
        for job in jobs:
            if job.state == PENDING:
                level = paged_level(policy, job.level, job.schedule)
                out.append(f"{level.named}: due {utc_when(job.due_at, self.clock.now())}")
        return out
