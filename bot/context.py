"""What the listeners get to work with: one object per running bot, built by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.alertmanager import AlertIntake
from bot.clock import Clock
from bot.escalation import Escalation
from bot.event_queue import EventQueue
from bot.lifecycle import Lifecycle
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.roles import Roles
from bot.slack_ops import SlackOps
from bot.statuspage import StatuspageService
from bot.tasks import BackgroundTasks
from bot.timeline import Timeline
from config.policy import Policy
from config.settings import Settings
from storage.db import Database


@dataclass
class BotContext:
    """Settings, policy, storage, Slack client, clock, domain services and after-ack work."""

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
    escalation: Escalation
    alerts: AlertIntake
    events: EventQueue
    outbox: Outbox
    statuspage: StatuspageService
    tasks: BackgroundTasks

    async def tick(self) -> int:
        """One pass of due work: pages, reminders, and pruning old event ids."""
        with self.metrics.tick_seconds.time():
            handled = await self.escalation.tick()
            await self.timeline.prune_events()
        return handled
