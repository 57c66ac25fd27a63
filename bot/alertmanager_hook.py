"""`POST /webhooks/alertmanager[/<team id>]`: a bearer token per workspace, then the notification is
kept in the inbox before the answer, deduplicated by minute.

With OAuth (several workspaces) each workspace has its own token, `[workspaces."T…"]
alertmanager_token_env`, and the token names the workspace; ALERTMANAGER_TOKEN is accepted only with
a single bot token (one workspace)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from bot.app import Shared
from config.policy import Policy
from config.settings import Settings
from domain.alerts import PayloadError
from domain.alerts import parse as parse_alerts
from domain.workspace import Team
from runtime.tokens import SingleToken
from runtime.workspaces import Workspaces
from storage.inbox import NewItem

log = logging.getLogger(__name__)

ALERTMANAGER_PATH = "/webhooks/alertmanager"
ALERTMANAGER_DEDUP_SECONDS = 60
SHARED = ""  # the key of ALERTMANAGER_TOKEN among the tokens: no workspace of its own


def tokens(settings: Settings, policy: Policy, env: Mapping[str, str]) -> dict[str, str]:
    """Team id → its Alertmanager token; with a single bot token, ALERTMANAGER_TOKEN under SHARED."""
    found = {
        team: env[p.alertmanager_token_env]
        for team, p in policy.workspaces.items()
        if p.alertmanager_token_env and env.get(p.alertmanager_token_env)
    }
    shared = settings.alertmanager_token.get_secret_value() if settings.alertmanager_token else ""
    if shared and not settings.oauth:
        found[SHARED] = shared
    return found


def check_tokens(settings: Settings, policy: Policy, env: Mapping[str, str]) -> str | None:
    """Why the Alertmanager tokens cannot serve as they are (a ConfigError's text), or None."""
    if settings.oauth and settings.alertmanager_token and settings.alertmanager_token.get_secret_value():
        return (
            "ALERTMANAGER_TOKEN: with OAuth (several workspaces) one token would open them all: give each "
            'workspace its own in its [workspaces."T…"] table, alertmanager_token_env = "VARIABLE"'
        )
    seen: dict[str, str] = {}
    for team, token in tokens(settings, policy, env).items():
        if token in seen:
            first = seen[token] or "ALERTMANAGER_TOKEN"
            return (
                f"workspaces.{team}.alertmanager_token_env: the same token as {first}; "
                "each workspace needs its own"
            )
        seen[token] = team
    return None


def handler(
    shared: Callable[[], Shared],
    single: Callable[[], SingleToken | None],
    workspaces: Callable[[], Workspaces],
    env: Mapping[str, str] = os.environ,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route's handler; its arguments are asked per request, as they exist only once started."""

    async def handle(request: web.Request) -> web.Response:
        return await receive(request, shared(), single(), workspaces(), env)

    return handle


async def receive(
    request: web.Request,
    shared: Shared,
    single: SingleToken | None,
    workspaces: Workspaces,
    env: Mapping[str, str],
) -> web.Response:
    """Alertmanager webhook (v4). 404 while no token is configured for the path (a workspace without
    its own token included), 401 for a missing or wrong token."""
    named = request.match_info.get("team")
    known = tokens(shared.settings, shared.policy, env)
    if named is not None:
        known = {team: token for team, token in known.items() if team in (named, SHARED)}
    if not known:
        raise web.HTTPNotFound()
    given = request.headers.get("Authorization", "").encode()
    # Every token is compared, so the time taken does not tell which workspace came close.
    matched = [
        team for team, token in known.items() if hmac.compare_digest(given, f"Bearer {token}".encode())
    ]
    if not matched:
        return web.json_response({"error": "missing or wrong bearer token"}, status=401)
    body = await request.read()
    try:
        notification = parse_alerts(body)
    except PayloadError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    team = await _alert_team(named or matched[0] or None, single, workspaces)
    if not isinstance(team, Team):
        return web.json_response({"error": team[1]}, status=team[0])
    return await keep(shared, team, notification.group_key, body)


async def _alert_team(
    named: str | None, single: SingleToken | None, workspaces: Workspaces
) -> Team | tuple[int, str]:
    """The workspace a notification is for: the bot token's, or with OAuth the one its token (or path)
    names; (status, reason) to refuse otherwise."""
    if single is not None:
        team = await single.check()
        if team is None:  # Alertmanager retries a 5xx, not a 4xx
            return 503, "Slack has not answered auth.test yet: retry"
        return team if named in (None, team.team_id) else (404, f"this bot serves {team.team_id} only")
    found = next((t for t in await workspaces.tokens.teams() if t.team_id == named), None)
    return found or (404, f"the app is not installed in workspace {named}")


async def keep(shared: Shared, team: Team, group_key: str, body: bytes) -> web.Response:
    """Store the notification for `team`'s worker; the answer says whether it was new."""
    group = hashlib.sha256(f"{team.team_id}\n{group_key}".encode()).hexdigest()
    content = hashlib.sha256(group_key.encode() + b"\n" + body).hexdigest()
    # Alertmanager repeats a still-firing group every repeat_interval with the same body: only a
    # copy within the same minute (a retry, the HA peer's) is a duplicate. A copy carried out
    # again changes nothing, as the intake compares with the alert states it recorded.
    minute = int(shared.clock.now().timestamp()) // ALERTMANAGER_DEDUP_SECONDS
    item = NewItem(
        idem_key=f"am:{content}:{minute}",
        order_key=f"alert:{group}",
        op="alert",
        payload=json.dumps({"body": body.decode()}),
        team_id=team.team_id,
        enterprise_id=team.enterprise_id,
    )
    try:
        new = await shared.inbox.accept(item)
    except Exception as exc:
        log.error("could not store an Alertmanager notification: %s", exc)
        return web.json_response({"error": "could not store the notification; retry"}, status=503)
    return web.json_response({"status": "accepted" if new else "duplicate"})
