"""The app factory: builds the Slack client, the Bolt AsyncApp and the domain services."""

from __future__ import annotations

import logging

import aiohttp
import httpx
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger import get_bolt_logger
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from config.policy import Policy
from config.settings import Settings
from services.alertmanager import AlertIntake
from services.clock import Clock
from services.context import BotContext
from services.escalation import Escalation
from services.handoffs import Handoffs
from services.inbox import Inbox
from services.inbox_worker import InboxWorker
from services.lifecycle import Lifecycle
from services.metrics import InstrumentedWebClient, Metrics, retry_handlers
from services.oncall import OnCall
from services.outbox import Outbox
from services.permissions import Permissions
from services.roles import Roles
from services.slack_ops import SlackOps
from services.statuspage import StatuspageService
from services.tasks import BackgroundTasks
from services.timeline import Timeline
from storage.db import Database


def build_client(
    settings: Settings, metrics: Metrics, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Web API client that rides out 429s (honouring Retry-After), 5xx and dropped connections.

    Give it the app's aiohttp session: without one slack_sdk opens a connection per call.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
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


def build_context(
    settings: Settings,
    policy: Policy,
    db: Database,
    clock: Clock,
    session: aiohttp.ClientSession,
    http: httpx.AsyncClient,
) -> BotContext:
    """Wire the domain services for one process: each is built once here and handed what it needs."""
    metrics = Metrics()
    client = build_client(settings, metrics, session)
    slack = SlackOps(client)
    outbox = Outbox(db, policy, clock, http)
    lifecycle = Lifecycle(db, slack, policy, clock, metrics, outbox)
    timeline = Timeline(db, slack, policy, clock, metrics)
    oncall = OnCall(db, slack, policy, clock, http)
    tasks = BackgroundTasks()
    inbox = Inbox(db, clock, metrics)
    worker = InboxWorker(db, clock, policy, metrics, slack)
    inbox.on_stored = worker.wake
    return BotContext(
        settings=settings,
        policy=policy,
        db=db,
        clock=clock,
        client=client,
        slack=slack,
        metrics=metrics,
        lifecycle=lifecycle,
        timeline=timeline,
        roles=Roles(db, slack, clock),
        oncall=oncall,
        handoffs=Handoffs(db, slack, policy, clock, oncall),
        permissions=Permissions(db, slack, policy, oncall),
        escalation=Escalation(db, slack, policy, clock, metrics, outbox, oncall),
        outbox=outbox,
        statuspage=StatuspageService(db, slack, policy, clock, http),
        alerts=AlertIntake(db, slack, lifecycle, policy, clock),
        tasks=tasks,
        inbox=inbox,
        worker=worker,
    )


def build_app(ctx: BotContext) -> AsyncApp:
    """A Bolt AsyncApp with every listener; requests are signature-checked."""
    from handlers import register_all  # the composition root is the one place bot/ meets handlers/

    secret = ctx.settings.slack_signing_secret
    # Bolt also reads SLACK_BOT_TOKEN from the environment and, given a client (which carries that
    # same token), warns that it will not use it: a warning on every start about nothing.
    bolt_log, quiet = get_bolt_logger(AsyncApp), _Without(warning_client_prioritized_and_token_skipped())
    bolt_log.addFilter(quiet)
    try:
        app = AsyncApp(
            client=ctx.client,
            signing_secret=secret.get_secret_value() if secret else None,
            # Listeners store the request in the inbox and then ack: the answer waits for the commit.
            process_before_response=True,
            request_verification_enabled=secret is not None,
        )
    finally:
        bolt_log.removeFilter(quiet)
    register_all(app, ctx)
    return app


class _Without(logging.Filter):
    """Drop records whose message is exactly `message`."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message
