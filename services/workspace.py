"""One workspace's services, built by the app factory. Nobody is handed the whole: a listener, a
subcommand or an op names the services it uses as parameters, and is given those (`given`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from config.policy import Policy
from config.settings import Settings
from domain.workspace import Team
from runtime.clock import Clock
from runtime.inbox import Inbox
from runtime.inbox_worker import InboxWorker
from runtime.jobs import Jobs
from runtime.metrics import Metrics
from runtime.ops import Intake
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from runtime.tasks import BackgroundTasks
from services.aftercare import Aftercare
from services.alertmanager import AlertIntake
from services.catalog import ServiceCatalog
from services.catchup import CatchUps
from services.drafts import PostmortemDrafts
from services.escalation import Escalation
from services.experts import Experts
from services.fields import Fields
from services.followups import Followups
from services.handoffs import Handoffs
from services.lifecycle import Lifecycle
from services.oncall import OnCall
from services.people import People
from services.permissions import Permissions
from services.relations import Relations
from services.reports import Reports
from services.roles import Roles
from services.runbook_cards import RunbookCards
from services.statuspage import StatuspageService
from services.subscriptions import Subscriptions
from services.timeline import Timeline
from services.wording import Wording
from services.workflows import Workflows
from storage.db import Database


@dataclass
class WorkspaceServices:
    """One workspace's view: its team, policy, Slack client and domain services, with the storage,
    clock, metrics, inbox, worker and outbox every workspace shares."""

    team: Team
    settings: Settings
    policy: Policy
    catalog: ServiceCatalog
    catchups: CatchUps
    experts: Experts
    db: Database
    clock: Clock
    client: AsyncWebClient
    slack: SlackOps
    metrics: Metrics
    lifecycle: Lifecycle
    timeline: Timeline
    drafts: PostmortemDrafts
    roles: Roles
    people: People
    runbook_cards: RunbookCards
    words: Wording
    oncall: OnCall
    handoffs: Handoffs
    permissions: Permissions
    escalation: Escalation
    jobs: Jobs
    alerts: AlertIntake
    inbox: Inbox
    intake: Intake
    worker: InboxWorker
    outbox: Outbox
    statuspage: StatuspageService
    subscriptions: Subscriptions
    followups: Followups
    fields: Fields
    aftercare: Aftercare
    relations: Relations
    reports: Reports
    workflows: Workflows
    tasks: BackgroundTasks

    async def tick(self) -> int:
        """One pass of due work: scheduled jobs (pages, reminders…), handoffs, pruning old event ids.
        Calendars are refreshed by their own job (`oncall.refresh`): this never waits on a calendar server."""
        with self.metrics.tick_seconds.time():
            handled = await self.jobs.tick()
            handled += await self.handoffs.tick()
            await self.timeline.prune_events()
        return handled

    async def settle(self) -> None:
        """Carry out everything acknowledged and due now, and wait for read-only replies (tests, shell)."""
        await self.worker.settle()
        await self.tasks.idle(timeout=30)


NAMES = frozenset(f.name for f in fields(WorkspaceServices))


def needs(fn: Callable[..., Any], *, after: int = 0, also: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The services `fn` names as parameters (after its first `after`); TypeError at registration
    for a name that is neither a service nor in `also` (what the caller gives itself)."""
    names = list(inspect.signature(fn).parameters)[after:]
    unknown = [n for n in names if n not in NAMES and n not in also]
    if unknown:
        raise TypeError(f"{fn.__qualname__} asks for {', '.join(unknown)}: not a workspace service")
    return tuple(n for n in names if n in NAMES and n not in also)


def given(services: WorkspaceServices, names: tuple[str, ...]) -> dict[str, Any]:
    """The named services of one workspace, as keyword arguments."""
    return {n: getattr(services, n) for n in names}
