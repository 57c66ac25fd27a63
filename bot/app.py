"""The app factory: builds the Slack client, the Bolt AsyncApp and the domain services."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import aiohttp
import httpx
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger import get_bolt_logger
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from config.policy import Policy
from config.settings import Settings
from domain.workspace import Team
from runtime.clock import Clock
from runtime.inbox import Inbox
from runtime.inbox_worker import InboxWorker
from runtime.jobs import Jobs
from runtime.metrics import InstrumentedWebClient, Metrics, retry_handlers
from runtime.ops import Intake, Ops
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from runtime.tasks import BackgroundTasks
from runtime.workspaces import Tokens, Workspaces
from services.aftercare import Aftercare
from services.alertmanager import AlertIntake
from services.announcements import Announcements
from services.catalog import Runbooks, ServiceCatalog
from services.catchup import CatchUps
from services.drafts import PostmortemDrafts
from services.escalation import Escalation
from services.experts import Experts
from services.fields import Fields
from services.followups import Followups
from services.handoffs import Handoffs
from services.lifecycle import Lifecycle
from services.oncall import OnCall
from services.page_updates import PageUpdates
from services.people import People
from services.permissions import Permissions
from services.relations import Relations
from services.reminders import UpdateReminders
from services.reports import Reports
from services.roles import Roles
from services.runbook_cards import RunbookCards
from services.statuspage import StatuspageService
from services.subscriptions import Subscriptions
from services.timeline import Timeline
from services.tracker_events import TrackerEvents
from services.wording import Wording, Wordings
from services.workflow_steps_timed import WorkflowReminders
from services.workflow_triggers import WorkflowTriggers
from services.workflows import Workflows
from services.workspace import WorkspaceServices
from storage.db import Database
from storage.schedule import ARCHIVE, FOLLOWUP, PAGE, PAGE_UPDATE, POSTMORTEM, REMINDER, WORKFLOW_REMIND


def build_client(
    settings: Settings, metrics: Metrics, session: aiohttp.ClientSession | None, token: str | None
) -> AsyncWebClient:
    """A Web API client that rides out 429s (honouring Retry-After), 5xx and dropped connections.

    Give it the app's aiohttp session: without one slack_sdk opens a connection per call.
    """
    base_url = (
        settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    )
    return InstrumentedWebClient(
        token=token,
        base_url=base_url,
        timeout=15,
        retry_handlers=retry_handlers(metrics),
        metrics=metrics,
        session=session,
    )


@dataclass
class Shared:
    """What every workspace's context shares: one per process."""

    settings: Settings
    policy: Policy  # the whole file: the top level and each `[workspaces."T…"]`
    db: Database
    clock: Clock
    session: aiohttp.ClientSession
    http: httpx.AsyncClient
    metrics: Metrics
    outbox: Outbox
    inbox: Inbox
    ops: Ops
    worker: InboxWorker
    tasks: BackgroundTasks
    runbooks: Runbooks
    wordings: Wordings  # each workspace policy's message templates: the shipped ones, the team's over them
    # Asks the scheduler for a tick now (new rows may be due at once); set by the runtime.
    wake: Callable[[], None] = lambda: None
    # What the features serve over HTTP (POST path → handler); set by build_app.
    webhooks: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(default_factory=dict)


def build_shared(
    settings: Settings,
    policy: Policy,
    db: Database,
    clock: Clock,
    session: aiohttp.ClientSession,
    http: httpx.AsyncClient,
    runbooks: Runbooks,
    wordings: Wordings,
) -> Shared:
    """The process-wide parts: metrics, the outbox, the inbox and its worker, background tasks."""
    metrics = Metrics()
    inbox = Inbox(db, clock, metrics)
    ops = Ops()
    worker = InboxWorker(db, clock, policy, metrics, ops)
    inbox.on_stored = worker.wake
    outbox = Outbox(db, policy, clock, http)
    # An incident event queues the workflows it sets off in its own transaction.
    outbox.on_event = WorkflowTriggers(policy, ops, clock, worker.wake).on_event
    return Shared(
        settings,
        policy,
        db,
        clock,
        session,
        http,
        metrics,
        outbox,
        inbox,
        ops,
        worker,
        BackgroundTasks(),
        runbooks,
        wordings,
    )


def build_context(shared: Shared, team: Team, token: str) -> WorkspaceServices:
    """Wire the domain services of one workspace: its token, its policy, the shared parts."""
    settings, db, clock, metrics = shared.settings, shared.db, shared.clock, shared.metrics
    outbox = shared.outbox
    policy = shared.policy.of(team.team_id)
    client = build_client(settings, metrics, shared.session, token)
    slack = SlackOps(client)
    catalog = ServiceCatalog(shared.runbooks, policy)
    oncall = OnCall(db, slack, policy, clock, shared.http, team.team_id)
    words = Wording(shared.wordings.of(policy), policy, db, clock)
    runbook_cards = RunbookCards(db, slack, catalog, oncall, team.team_id, words)
    intake = Intake(shared.inbox, shared.ops, team)
    subscriptions = Subscriptions(db, slack, intake, team.team_id)
    announcements = Announcements(db, slack, policy, team.team_id, words)
    lifecycle = Lifecycle(
        db, slack, policy, clock, metrics, outbox, team, catalog, runbook_cards, announcements, subscriptions,
        words,
    )  # fmt: skip
    lifecycle.wake = lambda: shared.wake()
    jobs = Jobs(db, clock, team.team_id)
    page_updates = PageUpdates(db, slack, policy, catalog, clock, team.team_id, words)
    escalation = Escalation(
        db, slack, policy, catalog, clock, metrics, outbox, oncall, jobs, team.team_id, page_updates, words
    )
    followups = Followups(db, slack, policy, clock, outbox, team.team_id)
    aftercare = Aftercare(db, slack, catalog, clock, team.team_id, announcements, outbox)
    aftercare.wake = lambda: shared.wake()
    reminders = UpdateReminders(
        db, slack, policy, clock, jobs, team.team_id, escalation.level_users, escalation.policy_of, words
    )
    jobs.register(PAGE, escalation.page)
    jobs.register(PAGE_UPDATE, page_updates.run)
    jobs.register(REMINDER, reminders.remind)
    jobs.register(FOLLOWUP, followups.remind)
    jobs.register(POSTMORTEM, aftercare.postmortem_due)
    jobs.register(ARCHIVE, aftercare.archive_due)
    jobs.register(WORKFLOW_REMIND, WorkflowReminders(db, slack, clock, jobs, team.team_id).due)
    timeline = Timeline(db, slack, policy, clock, metrics, team.team_id)
    people = People(db, slack, clock, shared.tasks, team.team_id)
    return WorkspaceServices(
        team=team,
        settings=settings,
        policy=policy,
        catalog=catalog,
        catchups=CatchUps(db, slack, catalog, clock, team.team_id, outbox),
        experts=Experts(db, slack, catalog, team.team_id),
        db=db,
        clock=clock,
        client=client,
        slack=slack,
        metrics=metrics,
        lifecycle=lifecycle,
        timeline=timeline,
        drafts=PostmortemDrafts(timeline, oncall, slack, db, clock, settings, team.team_id, people),
        roles=Roles(db, slack, clock, team.team_id, outbox),
        people=people,
        runbook_cards=runbook_cards,
        words=words,
        oncall=oncall,
        handoffs=Handoffs(db, slack, policy, clock, oncall, team.team_id),
        permissions=Permissions(db, slack, policy, catalog, oncall, team.team_id),
        escalation=escalation,
        jobs=jobs,
        followups=followups,
        fields=Fields(db, slack, policy, outbox, team.team_id),
        aftercare=aftercare,
        relations=Relations(db, slack, lifecycle, team.team_id),
        reports=Reports(db, slack, policy, clock, team.team_id),
        workflows=Workflows(db, slack, team.team_id),
        outbox=outbox,
        statuspage=StatuspageService(db, slack, policy, clock, shared.http, team.team_id),
        alerts=AlertIntake(db, slack, lifecycle, policy, catalog, clock, team.team_id),
        tasks=shared.tasks,
        inbox=shared.inbox,
        intake=intake,
        subscriptions=subscriptions,
        worker=shared.worker,
    )


def build_workspaces(shared: Shared, tokens: Tokens) -> Workspaces:
    """Each workspace's context, built on first use from its token."""
    return Workspaces(tokens, partial(build_context, shared))


def build_app(
    shared: Shared, workspaces: Workspaces, client: AsyncWebClient, oauth: AsyncOAuthSettings | None
) -> AsyncApp:
    """A Bolt AsyncApp with every listener; requests are signature-checked. `client` carries the
    bot token in single-workspace mode; with `oauth`, Bolt finds each workspace's in the store."""
    # The composition root is the one place bot/ meets handlers/.
    from handlers import register_all
    from handlers.wiring import Inbound

    secret = shared.settings.slack_signing_secret
    # Bolt also reads SLACK_BOT_TOKEN from the environment and, given a client (which carries that
    # same token), warns that it will not use it: a warning on every start about nothing.
    bolt_log, quiet = get_bolt_logger(AsyncApp), _Without(warning_client_prioritized_and_token_skipped())
    bolt_log.addFilter(quiet)
    # Bolt turns on its own file-based OAuth install whenever SLACK_CLIENT_ID and SLACK_CLIENT_SECRET
    # are in the environment; with a bot token they only sign people in to the web view.
    hidden = () if oauth else ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
    try:
        with _unset(*hidden):
            app = AsyncApp(
                client=client,
                signing_secret=secret.get_secret_value() if secret else None,
                oauth_settings=oauth,
                # Listeners store the request in the inbox and then ack: the answer waits for the commit.
                process_before_response=True,
                request_verification_enabled=secret is not None,
            )
    finally:
        bolt_log.removeFilter(quiet)
    trackers = TrackerEvents(shared.db, shared.policy)
    inbound = Inbound(shared.settings, shared.policy, shared.clock, shared.inbox, trackers)
    shared.webhooks = register_all(app, workspaces, shared.ops, shared.worker, inbound)
    return app


@contextmanager
def _unset(*names: str) -> Iterator[None]:
    """These environment variables hidden for the block (set back after it)."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class _Without(logging.Filter):
    """Drop records whose message is exactly `message`."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message
