"""Alertmanager: `POST /webhooks/alertmanager[/<team id>]` with a bearer token per workspace; each
notification is kept in the inbox before the answer, deduplicated by minute, and carried out in order
with the rest of its group.

With OAuth (several workspaces) each workspace has its own token, `[workspaces."T…"]
alertmanager_token_env`, and the token names the workspace; ALERTMANAGER_TOKEN is accepted only with
a single bot token (one workspace)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from functools import partial

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from config.policy import Policy
from config.settings import Settings
from domain.alerts import PayloadError, parse
from domain.errors import IncidentError
from domain.workspace import Team
from handlers.wiring import Wiring
from runtime import keys
from runtime.clock import Clock
from runtime.ops import Intake, Job, Request
from runtime.tokens import SingleToken
from runtime.workspaces import Workspaces
from services.alertmanager import AlertIntake

log = logging.getLogger(__name__)

ALERTMANAGER_PATH = "/webhooks/alertmanager"
ALERTMANAGER_DEDUP_SECONDS = 60
SHARED = ""  # the key of ALERTMANAGER_TOKEN among the tokens: no workspace of its own


class Alert(Request):
    """One notification (its body as received), in order with the others of its group in its
    workspace; the same content within a minute is the same request."""

    OP = "alert"
    body: str
    group_key: str = ""
    team_id: str = ""
    minute: int = 0  # of the epoch, when it was received

    def order_key(self) -> str:
        return keys.alert_group(self.team_id, self.group_key)

    def idem_key(self) -> str | None:
        return keys.alertmanager(self.group_key, self.body.encode(), self.minute)

    def what(self) -> str:
        return "carry out an Alertmanager notification"


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The webhook, with and without a workspace in its path, and the op it stores."""
    wiring.op(Alert, run_alert)
    receive = partial(notified, wiring=wiring)
    wiring.webhook(ALERTMANAGER_PATH, receive)
    wiring.webhook(ALERTMANAGER_PATH + "/{team}", receive)


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


async def notified(request: web.Request, wiring: Wiring) -> web.Response:
    """Alertmanager webhook (v4). 404 while no token is configured for the path (a workspace without
    its own token included), 401 for a missing or wrong token."""
    inbound = wiring.inbound
    assert inbound is not None
    named = request.match_info.get("team")
    known = tokens(inbound.settings, inbound.policy, inbound.env)
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
        notification = parse(body)
    except PayloadError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    team = await _alert_team(named or matched[0] or None, wiring.workspaces)
    if not isinstance(team, Team):
        return web.json_response({"error": team[1]}, status=team[0])
    return await keep(wiring.intake(team), inbound.clock, notification.group_key, body)


async def _alert_team(named: str | None, workspaces: Workspaces) -> Team | tuple[int, str]:
    """The workspace a notification is for: the bot token's, or with OAuth the one its token (or path)
    names; (status, reason) to refuse otherwise."""
    if isinstance(workspaces.tokens, SingleToken):
        team = await workspaces.tokens.check()
        if team is None:  # Alertmanager retries a 5xx, not a 4xx
            return 503, "Slack has not answered auth.test yet: retry"
        return team if named in (None, team.team_id) else (404, f"this bot serves {team.team_id} only")
    found = next((t for t in await workspaces.tokens.teams() if t.team_id == named), None)
    return found or (404, f"the app is not installed in workspace {named}")


async def keep(intake: Intake, clock: Clock, group_key: str, body: bytes) -> web.Response:
    """Store the notification for the intake's workspace; the answer says whether it was new."""
    # Alertmanager repeats a still-firing group every repeat_interval with the same body: only a
    # copy within the same minute (a retry, the HA peer's) is a duplicate. A copy carried out
    # again changes nothing, as the intake compares with the alert states it recorded.
    minute = int(clock.now().timestamp()) // ALERTMANAGER_DEDUP_SECONDS
    alert = Alert(body=body.decode(), group_key=group_key, team_id=intake.team.team_id, minute=minute)
    try:
        new = await intake.keep(alert)
    except Exception as exc:
        log.error("could not store an Alertmanager notification: %s", exc)
        return web.json_response({"error": "could not store the notification; retry"}, status=503)
    return web.json_response({"status": "accepted" if new else "duplicate"})


async def run_alert(job: Job[Alert], alerts: AlertIntake) -> None:
    """Declare, update or ignore; a refusal (no channel could be made) is logged, not retried."""
    try:
        notification = parse(job.request.body.encode())
    except PayloadError as exc:  # stored before the endpoint refused such payloads: nothing to do
        log.error("Alertmanager notification %s dropped: %s", job.id, exc)
        return
    try:
        said = await alerts.receive(job.steps, notification)
    except IncidentError as exc:
        log.error("Alertmanager notification %s not carried out: %s", job.id, exc)
        return
    log.info("Alertmanager group %s: %s", notification.group_key, said)
