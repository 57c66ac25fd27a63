"""Planning pages and reminders as rows, inside the caller's transaction (declare, update, severity)."""

from __future__ import annotations

from datetime import datetime

from config.escalation import Level
from config.policy import Policy
from domain.severity import Severity
from storage.models import Incident
from storage.schedule import ARCHIVE, CANCELLED, CLAIMED, DONE, PAGE, POSTMORTEM, REMINDER, ScheduleRepo


def reach(policy: Policy, severity: Severity) -> int:
    """Index of the highest level this severity pages."""
    return policy.escalation.reach_index(severity)


def next_update_due(policy: Policy, severity: Severity, since: datetime) -> datetime | None:
    """The update deadline after `since` (None when the severity has no cadence)."""
    cadence = policy.updates.cadence(severity)
    return since + cadence if cadence else None


def paged_level(policy: Policy, index: int | None, schedule: str | None) -> Level:
    """What a page job or page DM was for: an escalation level by number (one the policy no longer
    has keeps its name), or whoever is on call on a schedule outside the levels."""
    if schedule is not None:
        return Level(name=schedule, title="on-call", schedule=schedule)
    levels, at = policy.escalation.levels, index or 0
    return levels[at] if at < len(levels) else Level(name=f"L{at + 1}")


async def plan_new_incident(repo: ScheduleRepo, policy: Policy, incident: Incident) -> None:
    """Pages for every level the severity reaches, at declaration + `after`; the first reminder."""
    for index in range(reach(policy, incident.severity) + 1):
        due = incident.declared_at + policy.level_after(index, incident.severity)
        await repo.plan(incident.id, PAGE, due, level=index)
    if incident.next_update_due:
        await repo.plan(incident.id, REMINDER, incident.next_update_due)


async def replan_reminder(repo: ScheduleRepo, incident: Incident, now: datetime, why: str) -> None:
    """Replace the pending reminder with one at the incident's current deadline."""
    await repo.cancel(incident.id, REMINDER, now, why)
    if incident.next_update_due and incident.is_open:
        await repo.plan(incident.id, REMINDER, max(incident.next_update_due, now))


async def replan_severity(
    repo: ScheduleRepo, policy: Policy, incident: Incident, old: Severity, now: datetime
) -> None:
    """After a severity change: plan newly reached levels (at once if past due), cancel those out of reach."""
    old_top, new_top = reach(policy, old), reach(policy, incident.severity)
    if new_top < old_top:
        await repo.cancel(
            incident.id, PAGE, now, "severity lowered", levels=list(range(new_top + 1, old_top + 1))
        )
        return
    jobs = await repo.jobs(incident.id, PAGE)
    live = {j.level for j in jobs if j.state != CANCELLED}
    for index in range(new_top + 1):
        if index not in live:
            due = incident.declared_at + policy.level_after(index, incident.severity)
            await repo.plan(incident.id, PAGE, max(due, now), level=index)


async def next_level_to_page(repo: ScheduleRepo, policy: Policy, incident_id: int) -> int | None:
    """The level `Escalate now` pages: the one after the highest already paged (None after the last)."""
    jobs = await repo.jobs(incident_id, PAGE)
    paged = [j.level for j in jobs if j.state in (CLAIMED, DONE) and j.level is not None]
    index = max(paged) + 1 if paged else 0
    return index if index < len(policy.escalation.levels) else None


async def plan_after_resolution(repo: ScheduleRepo, policy: Policy, incident: Incident) -> None:
    """At resolution: the postmortem deadline (by severity) and archiving the channel."""
    resolved = incident.resolved_at
    assert resolved is not None
    due = policy.postmortem.due.of(incident.severity)
    incident.postmortem_due_at = resolved + due if due and not incident.postmortem_url else None
    if incident.postmortem_due_at:
        await repo.plan(incident.id, POSTMORTEM, incident.postmortem_due_at)
    if policy.channels.archive_after is not None:
        await repo.plan(incident.id, ARCHIVE, resolved + policy.channels.archive_after)


async def plan_reopened(repo: ScheduleRepo, policy: Policy, incident: Incident, now: datetime) -> None:
    """At a reopen: no postmortem deadline or archive any more; pages for every level the severity
    reaches counted from now, and the update reminder."""
    for kind in (POSTMORTEM, ARCHIVE, PAGE, REMINDER):
        await repo.cancel(incident.id, kind, now, "reopened")
    incident.postmortem_due_at = None
    for index in range(reach(policy, incident.severity) + 1):
        await repo.plan(incident.id, PAGE, now + policy.level_after(index, incident.severity), level=index)
    if incident.next_update_due:
        await repo.plan(incident.id, REMINDER, incident.next_update_due)
