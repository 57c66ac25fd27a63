"""What sets workflows off: every incident event the outbox records (runtime/outbox.py `on_event`),
in the transaction of the change it reports. The event is read as a trigger (domain/workflows.py);
each workflow of the incident's workspace on that trigger whose conditions hold for the incident as it
is then gets a `RunWorkflow` inbox row in that same transaction, so a run exists exactly when its
event does, and is queued once however the request that made the change is retried."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from config.policy import Policy
from config.workflows import Workflow
from domain.workflows import Change, Facts, changes_of, matches, words
from domain.workspace import Team
from runtime.clock import Clock
from runtime.ops import Ops, carrying_out
from services.workflows import RunWorkflow, running
from storage.fields import FieldRepo
from storage.inbox import InboxRepo
from storage.models import Incident
from storage.repositories import TimelineRepo

log = logging.getLogger(__name__)

# Told the order keys of rows that were just committed (the worker of this process starts on them).
Wake = Callable[[set[str]], None]


class WorkflowTriggers:
    """Queues the workflows an incident event sets off (one per process: policies by workspace)."""

    def __init__(self, policy: Policy, ops: Ops, clock: Clock, wake: Wake) -> None:
        self.policy, self.ops, self.clock, self.wake = policy, ops, clock, wake

    async def on_event(
        self, s: AsyncSession, incident: Incident, kind: str, data: dict[str, Any], event_id: str
    ) -> None:
        """Queue, in session `s`, a run of each workflow that `kind` sets off for `incident`."""
        if not incident.channel_id:
            return
        policy = self.policy.of(incident.team_id)
        queued: set[str] = set()
        chain = running.get()  # set off by a workflow's step: not by one already in the chain
        for change in changes_of(kind, data):
            candidates = [wf for wf in policy.workflows if wf.on == change.on]
            if candidates:
                facts = await self.facts(s, policy, incident, change)
                runs = [wf for wf in candidates if matches(wf.when, facts)]
                queued |= await self._queue(s, runs, incident, change, event_id, chain)
        if queued:
            # Told once the rows are there to claim: only a commit makes them so.
            event.listen(s.sync_session, "after_commit", lambda _session: self.wake(queued), once=True)

    async def _queue(
        self,
        s: AsyncSession,
        runs: list[Workflow],
        incident: Incident,
        change: Change,
        event_id: str,
        chain: tuple[str, ...],
    ) -> set[str]:
        """Queue a run of each workflow, in session `s`; the order keys of the rows added."""
        queued: set[str] = set()
        now = self.clock.now()
        for wf in runs:
            if wf.name in chain:
                led = " → ".join(chain)
                said = f"Workflow *{wf.name}* not run again on {change.on}: its own chain set it off ({led})"
                log.warning(said.replace("*", ""), extra={"incident_id": incident.id})
                await TimelineRepo(s).record(incident.id, "workflow_loop", said, now)
                continue
            item = self.ops.item(self._request(wf, incident, change, event_id, chain), _team(incident))
            if await InboxRepo(s).add(item, now):
                queued.add(item.order_key)
                log.info(
                    "%s sets off workflow %s for %s",
                    change.on,
                    wf.name,
                    incident.ref,
                    extra={"incident_id": incident.id},
                )
        return queued

    async def facts(self, s: AsyncSession, policy: Policy, incident: Incident, change: Change) -> Facts:
        """The incident as it is in this transaction, and the change, as conditions see them."""
        values = await FieldRepo(s).of(incident.id) if policy.fields else {}
        fields = {name: found for name, value in values.items() if (found := words(value))}
        return Facts(
            severity=str(incident.severity),
            service=incident.service,
            status=incident.status,
            private=incident.private,
            fields=fields,
            change=change,
        )

    @staticmethod
    def _request(
        wf: Workflow, incident: Incident, change: Change, event_id: str, chain: tuple[str, ...]
    ) -> RunWorkflow:
        return RunWorkflow(
            chain=chain,
            event=event_id,
            workflow=wf.name,
            incident=incident.id,
            channel=incident.channel_id or "",
            change=change,
            do=tuple(step.dump() for step in wf.do),
            behind=carrying_out.get() if change.on == "declared" else None,
        )


def _team(incident: Incident) -> Team:
    return Team(incident.team_id, incident.enterprise_id)
