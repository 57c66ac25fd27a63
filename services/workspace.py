"""What the listeners get to work with: one object per running bot, built by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from config.policy import Policy
from config.settings import Settings
from domain.workspace import Team
from runtime.clock import Clock
from runtime.inbox import Inbox
from runtime.inbox_worker import InboxWorker
from runtime.metrics import Metrics
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from runtime.tasks import BackgroundTasks
from services.aftercare import Aftercare
from services.alertmanager import AlertIntake
from services.escalation import Escalation
from services.followups import Followups
from services.handoffs import Handoffs
from services.lifecycle import Lifecycle
from services.oncall import OnCall
from services.permissions import Permissions
from services.reports import Reports
from services.roles import Roles
from services.statuspage import StatuspageService
from services.timeline import Timeline
from storage.db import Database


@dataclass
class WorkspaceServices:
    """One workspace's view: its team, policy, Slack client and domain services, with the storage,
    clock, metrics, inbox, worker and outbox every workspace shares."""

    team: Team
    settings: Settings
    policy: Policy
    db: Database
    clock: Clock
    client: AsyncWebClient
    slack: SlackOps
    metrics: Metrics
    lifecycle: Lifecycle
    timeline: Timeline
    roles: Roles
    oncall: OnCall
    handoffs: Handoffs
    permissions: Permissions
    escalation: Escalation
    alerts: AlertIntake
    inbox: Inbox
    worker: InboxWorker
    outbox: Outbox
    statuspage: StatuspageService
    followups: Followups
    aftercare: Aftercare
    reports: Reports
    tasks: BackgroundTasks

    async def tick(self) -> int:
        """One pass of due work: pages, reminders, handoffs, pruning old event ids. Calendars are
        refreshed by their own job (`oncall.refresh`): this never waits on a calendar server."""
        with self.metrics.tick_seconds.time():
            handled = await self.escalation.tick()
            handled += await self.handoffs.tick()
            await self.timeline.prune_events()
        return handled

    async def settle(self) -> None:
        """Carry out everything acknowledged and due now, and wait for read-only replies (tests, shell)."""
        await self.worker.settle()
        await self.tasks.idle(timeout=30)
