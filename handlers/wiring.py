"""What a feature's `register(app, wiring)` adds to besides the Bolt app: its inbox ops, its
`/incident` subcommands and its webhooks.

Ops, subcommand handlers and Bolt listeners all name the workspace services they use as parameters
(`lifecycle: Lifecycle`) and are given just those: ops and subcommands here, listeners by Bolt from
the request context (handlers/workspace.py puts each service there under its name).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from config.permissions import Permission
from config.policy import Policy
from config.settings import Settings
from domain.errors import IncidentError
from domain.workspace import NotInstalled, Team
from handlers.subcommands import Subcommands
from messages.blocks import Message
from messages.help import error
from runtime.clock import Clock
from runtime.inbox import Inbox
from runtime.inbox_worker import GivenUp, InboxWorker
from runtime.journal import carry_on, once
from runtime.ops import Asked, Command, Intake, Job, MarkDone, Ops, R
from runtime.slack_ops import SlackOps
from runtime.workspaces import Workspaces
from services.people import mentioned
from services.permissions import Permissions
from services.tracker_events import TrackerEvents
from services.workspace import WorkspaceServices, given, needs

log = logging.getLogger(__name__)

Webhook = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Inbound:
    """What webhooks are given: the process's parts, since a webhook's workspace is known only once
    the webhook is checked."""

    settings: Settings
    policy: Policy  # the whole file: the top level and every `[workspaces."T…"]`
    clock: Clock
    inbox: Inbox
    trackers: TrackerEvents
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)  # read per request


@dataclass
class Wiring:
    """The registries features add to, the workspaces whose services ops are given, and what
    webhooks are given."""

    ops: Ops
    subcommands: Subcommands
    workspaces: Workspaces
    inbound: Inbound | None = None
    webhooks: dict[str, Webhook] = field(default_factory=dict)  # POST path → its handler

    async def services(self, team: Team) -> WorkspaceServices:
        """The services of the workspace a stored request belongs to."""
        found = await self.workspaces.get(team)
        if found is None:
            raise NotInstalled(f"the app is not installed in workspace {team.team_id}")
        return found

    def op(self, kind: type[R], run: Callable[..., Awaitable[None]]) -> None:
        """Carry out `kind` with `run(job, <the services it names>)`."""
        names = needs(run, after=1)

        async def carry_out(job: Job[R]) -> None:
            await run(job, **given(await self.services(job.team), names))

        self.ops.add(kind, carry_out)

    def batch(self, kind: type[R], run: Callable[..., Awaitable[None]]) -> None:
        """Carry out consecutive `kind` requests together: `run(jobs, mark_done, <services>)`."""
        names = needs(run, after=2)

        async def carry_out(jobs: list[Job[R]], mark_done: MarkDone) -> None:
            # One order key holds one workspace's requests only.
            await run(jobs, mark_done, **given(await self.services(jobs[0].team), names))

        self.ops.add_batch(kind, carry_out)

    def answered(
        self,
        kind: type[R],
        run: Callable[..., Awaitable[str | None]],
        permission: Permission | None = None,
    ) -> None:
        """An op a person asked for: checked against `permission` once, then `run`; its text, or the
        refusal, goes back to them once."""
        names = needs(run, after=1)

        async def carry_out(job: Job[R]) -> None:
            services = await self.services(job.team)
            request = job.request
            assert isinstance(request, Asked), f"{kind.__name__} is answered but names nobody who asked"
            await services.people.seen({request.user: request.user_name})
            refused = False
            try:
                if permission is not None:
                    await allowed(services.permissions, job, permission)
                text = await run(job, **given(services, names))
            except IncidentError as exc:
                text, refused = error(str(exc)).text, True
            if text:
                await answer(services.slack, job, Message(text=text))
            if not refused:  # a request that went through may have put these people on record
                services.people.named(named_by(request))

        self.ops.add(kind, carry_out)

    def webhook(self, path: str, handler: Webhook) -> None:
        """Serve `handler` for POSTs to `path` (aiohttp's syntax: `/webhooks/alertmanager/{team}`)."""
        if path in self.webhooks:
            raise ValueError(f"webhook {path!r} registered twice")
        self.webhooks[path] = handler

    def intake(self, team: Team) -> Intake:
        """Where a webhook keeps a request for the workspace it found."""
        assert self.inbound is not None, "webhooks are registered without what they are given"
        return Intake(self.inbound.inbox, self.ops, team)

    def attach(self, worker: InboxWorker) -> None:
        """Where the worker says what it gave up on: the incident's channel, else whoever asked (by
        DM: a response_url has expired by then), else the announce channel (an alert)."""

        async def tell(team: Team, gone: GivenUp, message: Message) -> None:
            services = await self.services(team)
            if gone.channel:
                await services.slack.post(gone.channel, message)
            elif gone.user:
                await services.slack.dm(gone.user, message)
            else:
                await services.slack.post_joining(services.policy.announce_channel, message)

        worker.tell = tell


def named_by(request: Asked) -> set[str]:
    """Who a request names: whoever asked, and the people a command mentions."""
    return {request.user} | (mentioned(request.command) if isinstance(request, Command) else set())


async def allowed(permissions: Permissions, job: Job[Any], permission: Permission) -> None:
    """Refuse (IncidentError, answered to the requester) unless they may; checked once, so a retry
    after the request took effect (which may have changed the roles) is not refused."""
    request = job.request
    assert isinstance(request, Asked)
    channel = None if permission is Permission.DECLARE else request.channel
    await once(job.steps, "allowed", lambda: permissions.require(permission, request.user, channel))


async def answer(slack: SlackOps, job: Job[Any], message: Message, *, replace: bool = False) -> None:
    """Reply to the requester once: by response_url, or by DM when the request had none (a form)."""
    request = job.request
    assert isinstance(request, Asked)

    async def send() -> None:
        # An expired response_url (30 min) or a closed DM: the effect happened; only the echo is lost.
        with carry_on(log, "could not answer %s", request.user):
            if request.response_url:
                await slack.respond(request.response_url, message, replace=replace)
            else:
                await slack.dm(request.user, message)

    await once(job.steps, "answer", send)
