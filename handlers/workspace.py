"""Which workspace a Slack request belongs to: a middleware puts that workspace's context into
Bolt's request context; uninstalls and revoked tokens are handled here too."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from domain.workspace import Team
from handlers.wiring import Wiring
from runtime.workspaces import Workspaces
from services.workspace import NAMES, WorkspaceServices

log = logging.getLogger(__name__)

KEY = "incident_bot"
_UNINSTALL_EVENTS = ("app_uninstalled", "tokens_revoked")


def workspace(context: AsyncBoltContext) -> WorkspaceServices:
    """The context of the workspace this request comes from (set by the middleware)."""
    return context[KEY]


def team_of(context: AsyncBoltContext) -> Team | None:
    """The workspace Bolt read off the request, or None (URL verification, SSL checks)."""
    if not context.team_id:
        return None
    return Team(context.team_id, context.enterprise_id, bool(context.is_enterprise_install))


def register(app: AsyncApp, wiring: Wiring) -> None:
    """Attach the middleware and the uninstall listeners."""
    app.middleware(partial(resolve, workspaces=wiring.workspaces))
    app.event("app_uninstalled")(partial(uninstalled, workspaces=wiring.workspaces))
    app.event("tokens_revoked")(partial(revoked, workspaces=wiring.workspaces))


async def resolve(
    context: AsyncBoltContext,
    body: dict[str, Any],
    next: Callable[[], Awaitable[BoltResponse]],
    *,
    workspaces: Workspaces,
) -> BoltResponse | None:
    """Put the request's workspace services into Bolt's context, each under its own name too."""
    team = team_of(context)
    if team is None or (body.get("event") or {}).get("type") in _UNINSTALL_EVENTS:
        return await next()
    ctx = await workspaces.get(team)
    if ctx is None:
        log.warning("a request from workspace %s, where the app is not installed: ignored", team.team_id)
        return BoltResponse(status=200, body="")
    context[KEY] = ctx
    for name in NAMES:  # what Bolt gives listeners by parameter name (its own names win)
        if name not in context:
            context[name] = getattr(ctx, name)
    return await next()


async def uninstalled(context: AsyncBoltContext, *, workspaces: Workspaces) -> None:
    team = team_of(context)
    if team is not None:
        await workspaces.uninstalled(team, "the app was uninstalled")


async def revoked(event: dict[str, Any], context: AsyncBoltContext, *, workspaces: Workspaces) -> None:
    team = team_of(context)
    if team is not None and (event.get("tokens") or {}).get("bot"):
        await workspaces.uninstalled(team, "its bot token was revoked")
