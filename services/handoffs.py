"""Handoffs at shift changes: DMs to the incoming and outgoing people, reminders ahead of a shift, and
each schedule's user group kept equal to whoever is on call.

Rows are planned a horizon ahead (one per schedule, shift start and kind, whoever plans it) and
claimed with a fence, like pages: exactly once across replicas. After downtime a handoff whose shift
is still running is sent, marked late; one whose shift is over is skipped. A first start plans only
what lies ahead (and changes of the last minutes). When an override moves a
shift change, the row planned for the old one is skipped and the new change is planned.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from config.oncall import Schedule
from config.policy import Policy
from domain.oncall import Shift
from messages import oncall as templates
from messages.blocks import Message
from runtime.clock import Clock
from runtime.journal import carry_on
from runtime.slack_ops import SlackOpError, SlackOps
from services.oncall import OnCall
from storage.db import Database
from storage.handoffs import DONE, HANDOFF, REMINDER, SKIPPED, HandoffClaim, HandoffRepo
from storage.repositories import IncidentRepo

log = logging.getLogger(__name__)

HORIZON = timedelta(days=2)
PLAN_EVERY = timedelta(minutes=1)
# A change this recent is still planned (an override that starts at once); older ones were planned
# ahead (HORIZON) while the bot ran, so a first start never announces a shift that began long ago.
RECENT = 2 * PLAN_EVERY
LEASE = timedelta(seconds=60)
LATE_AFTER = timedelta(seconds=30)


def changes(shifts: list[Shift]) -> list[tuple[Shift, tuple[str, ...]]]:
    """Each shift whose people differ from those on call just before it, with those (outgoing) people."""
    out = []
    ordered = sorted(shifts, key=lambda s: s.start)
    for i, shift in enumerate(ordered):
        before = ordered[i - 1].users if i > 0 and ordered[i - 1].end >= shift.start else ()
        if set(shift.users) != set(before):
            out.append((shift, before))
    return out


class Handoffs:
    """Plans and sends handoff DMs; syncs schedule user groups."""

    def __init__(
        self, db: Database, slack: SlackOps, policy: Policy, clock: Clock, oncall: OnCall, team_id: str
    ) -> None:
        self.db, self.slack, self.policy, self.clock, self.oncall = db, slack, policy, clock, oncall
        self.team_id = team_id
        self._synced: dict[str, tuple[str, ...]] = {}
        self._planned_at: datetime | None = None

    def replan(self) -> None:
        """Plan again at the next tick (an override moved a shift change)."""
        self._planned_at = None

    async def tick(self) -> int:
        """Plan what the horizon holds (each minute), then send what is due; returns the rows handled."""
        if not self.policy.schedules:
            return 0
        now = self.clock.now()
        if self._planned_at is None or now - self._planned_at >= PLAN_EVERY:
            for schedule in self.policy.schedules:
                await self._plan(schedule, now)
            await self._sync_groups(now)
            self._planned_at = now
        async with self.db.session() as s:
            claims = await HandoffRepo(s, self.team_id).claim_due(now, now + LEASE)
        for claim in claims:
            try:
                await self._send(claim)
            except Exception:  # the claim's lease runs out and a later tick retries it
                log.exception("handoff %s of %s failed", claim.id, claim.schedule)
        if claims:
            await self._sync_groups(now)
        return len(claims)

    async def _plan(self, schedule: Schedule, now: datetime) -> None:
        since = now - timedelta(days=1)
        shifts = await self.oncall.shifts(schedule.name, since, now + HORIZON)
        async with self.db.session() as s:
            repo = HandoffRepo(s, self.team_id)
            for shift, outgoing in changes(shifts):
                if shift.end <= now or shift.start <= now - RECENT:
                    continue  # planned ahead while the bot ran, or a change from before it started
                await repo.plan(
                    schedule.name, HANDOFF, shift.start, shift.end, shift.users, outgoing, shift.start
                )
                if schedule.remind_before:
                    due = shift.start - schedule.remind_before
                    await repo.plan(schedule.name, REMINDER, shift.start, shift.end, shift.users, (), due)

    async def _send(self, claim: HandoffClaim) -> None:
        now = self.clock.now()
        if now >= claim.shift_end:
            await self._finish(claim, SKIPPED, "shift over")
            return
        current = set(await self.oncall.now(claim.schedule, claim.shift_start))
        if current != set(claim.incoming):
            await self._finish(claim, SKIPPED, "schedule changed")
            return
        late = now - claim.due_at > LATE_AFTER
        if claim.kind == REMINDER:
            for user in claim.incoming:
                await self._dm(
                    user, templates.handoff_reminder(claim.schedule, claim.shift_start, claim.shift_end)
                )
        else:
            async with self.db.session() as s:
                open_incidents = await IncidentRepo(s, self.team_id).open_incidents()
            message = templates.handoff_incoming(
                claim.schedule, claim.shift_start, claim.shift_end, claim.outgoing, open_incidents, late
            )
            for user in claim.incoming:
                await self._dm(user, message)
            for user in claim.outgoing:
                if user not in claim.incoming:
                    await self._dm(
                        user, templates.handoff_outgoing(claim.schedule, claim.shift_start, claim.incoming)
                    )
        await self._finish(claim, DONE, "late" if late else None)
        log.info("handoff of %s to %s sent", claim.schedule, claim.incoming)

    async def _dm(self, user: str, message: Message) -> None:
        with carry_on(log, "could not DM %s about a handoff", user):
            await self.slack.dm(user, message)

    async def _finish(self, claim: HandoffClaim, state: str, note: str | None) -> None:
        async with self.db.session() as s:
            await HandoffRepo(s, self.team_id).finish(claim, self.clock.now(), state, note)

    async def _sync_groups(self, now: datetime) -> None:
        """Each schedule's `usergroup` holds whoever is on call (only written when that changes)."""
        for schedule in self.policy.schedules:
            if not schedule.usergroup:
                continue
            users = await self.oncall.now(schedule.name, now)
            if not users or self._synced.get(schedule.name) == users:
                continue
            try:
                if set(await self.slack.usergroup_members(schedule.usergroup)) != set(users):
                    await self.slack.set_usergroup_members(schedule.usergroup, list(users))
                self._synced[schedule.name] = users
            except SlackOpError as exc:
                log.warning("could not sync user group %s: %s", schedule.usergroup, exc.error)
