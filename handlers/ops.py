"""What the inbox worker does with each kind of stored request: one function per op, registered by
the listener module that stores it (`@op("update")`), bound to the context in `register`."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from domain.errors import IncidentError
from domain.workspace import NotInstalled, Team
from messages.blocks import Message
from messages.help import error
from runtime import logs
from runtime.inbox_worker import GivenUp, InboxWorker, Job, MarkDone
from runtime.journal import once
from runtime.slack_ops import SlackOpError
from runtime.workspaces import Workspaces
from services.permissions import Action
from services.workspace import WorkspaceServices
from storage.inbox import NewItem

log = logging.getLogger(__name__)

Op = Callable[[WorkspaceServices, Job], Awaitable[None]]
BatchOp = Callable[[WorkspaceServices, list[Job], MarkDone], Awaitable[None]]
Answer = Callable[[WorkspaceServices, Job], Awaitable[str | None]]
OPS: dict[str, Op] = {}
BATCH_OPS: dict[str, BatchOp] = {}


def op(name: str) -> Callable[[Op], Op]:
    """Register what the worker does with a stored `name` request."""

    def deco(fn: Op) -> Op:
        if name in OPS:
            raise ValueError(f"inbox op {name!r} registered twice")
        OPS[name] = fn
        return fn

    return deco


def batch_op(name: str) -> Callable[[BatchOp], BatchOp]:
    """Register an op whose consecutive requests are carried out together."""

    def deco(fn: BatchOp) -> BatchOp:
        BATCH_OPS[name] = fn
        return fn

    return deco


def answered(name: str) -> Callable[[Answer], Answer]:
    """An op that answers the person who asked: its text, or the refusal, goes back once."""

    def deco(fn: Answer) -> Answer:
        async def run(ctx: WorkspaceServices, job: Job) -> None:
            if job.data.get("user_name"):
                await ctx.roles.remember_names({job.data["user"]: job.data["user_name"]})
            try:
                text = await fn(ctx, job)
            except IncidentError as exc:
                text = error(str(exc)).text
            if text:
                await answer(ctx, job, Message(text=text))

        op(name)(run)
        return fn

    return deco


async def allowed(ctx: WorkspaceServices, job: Job, action: Action) -> None:
    """Refuse (IncidentError, answered to the requester) unless they may do `action`; checked once,
    so a retry after the request took effect (which may have changed the roles) is not refused."""
    channel = None if action == "declare" else job.data.get("channel")
    await once(job.steps, "allowed", lambda: ctx.permissions.require(action, job.data["user"], channel))


async def answer(ctx: WorkspaceServices, job: Job, message: Message, *, replace: bool = False) -> None:
    """Reply to the requester once: by response_url, or by DM when the request had none (a form)."""

    async def send() -> None:
        try:
            if job.data.get("response_url"):
                await ctx.slack.respond(job.data["response_url"], message, replace=replace)
            elif job.data.get("user"):
                await ctx.slack.dm(job.data["user"], message)
        except SlackOpError as exc:
            if exc.transient:
                raise
            # An expired response_url (30 min) or a closed DM: the effect happened; only the echo is lost.
            log.warning("could not answer %s: %s", job.data.get("user"), exc)

    await once(job.steps, "answer", send)


async def store(
    ctx: WorkspaceServices, idem_key: str | None, order_key: str, name: str, data: dict[str, Any]
) -> bool:
    """Keep a request in the inbox (durably, before the answer); False when it was already kept."""
    return await ctx.inbox.accept(
        NewItem(
            idem_key=idem_key or f"local:{uuid.uuid4().hex}",
            order_key=order_key,
            op=name,
            payload=json.dumps(_storable(data)),
            team_id=ctx.team.team_id,
            enterprise_id=ctx.team.enterprise_id,
        )
    )


def clicked_number(body: dict[str, Any]) -> int | None:
    """The number a clicked button carries as its value (a page, an incident, a follow-up)."""
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


async def store_click(
    ctx: WorkspaceServices,
    body: dict[str, Any],
    name: str,
    channel: str | None,
    data: dict[str, Any],
    key: str,
) -> None:
    """Keep a button click in the inbox (once per trigger), ordered by `key`: with the clicker and
    where to answer them."""
    logs.bind(request_id=body.get("trigger_id"))
    trigger = body.get("trigger_id")
    who = {"user": body["user"]["id"], "response_url": body.get("response_url"), "channel": channel}
    await store(ctx, trigger and f"act:{trigger}", key, name, {**who, **data})


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> Any:
    """Without NUL characters and lone surrogates, which no database text column holds: a Slack
    request carrying them is still carried out, with them dropped (U+FFFD for a surrogate)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def register(workspaces: Workspaces, worker: InboxWorker) -> None:
    """Hand every registered op to the worker, run with the context of the row's workspace."""

    async def context(team: Team) -> WorkspaceServices:
        ctx = await workspaces.get(team)
        if ctx is None:
            raise NotInstalled(f"the app is not installed in workspace {team.team_id}")
        return ctx

    async def one(fn: Op, job: Job) -> None:
        await fn(await context(job.team), job)

    async def together(fn: BatchOp, jobs: list[Job], mark_done: MarkDone) -> None:
        await fn(await context(jobs[0].team), jobs, mark_done)  # one order key: one workspace

    async def tell(team: Team, gone: GivenUp, message: Message) -> None:
        """Where a given-up request is reported: its incident's channel, else whoever asked (by DM:
        a response_url has expired by then), else the announce channel (an Alertmanager notification)."""
        ctx = await context(team)
        if gone.channel:
            await ctx.slack.post(gone.channel, message)
        elif gone.user:
            await ctx.slack.dm(gone.user, message)
        else:
            await ctx.slack.post_joining(ctx.policy.announce_channel, message)

    for name, fn in OPS.items():
        worker.register(name, partial(one, fn))
    for name, batch in BATCH_OPS.items():
        worker.register_batch(name, partial(together, batch))
    worker.tell = tell
