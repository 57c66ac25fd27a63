"""`POST /webhooks/github`: an issue filed for a follow-up, closed or reopened on GitHub, marks the
follow-up done or open again. The request is signature-checked, then stored in the inbox and carried
out in order with the rest of its incident's requests. A signed body is carried out once: it is
deduplicated on its own hash, and refused once older than the inbox remembers."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.app import Shared
from config.aftercare import GitHubTracker
from config.policy import Policy
from runtime.inbox_worker import DONE_MEMORY
from runtime.outbox import signature
from runtime.trackers import GITHUB
from storage.followups import by_tracker
from storage.inbox import NewItem
from storage.models import Followup, Incident
from storage.repositories import IncidentRepo

log = logging.getLogger(__name__)

GITHUB_PATH = "/webhooks/github"
DONE = {"closed": True, "reopened": False}


def github_trackers(policy: Policy) -> list[GitHubTracker]:
    """The `[trackers.github]` of the top level and of every workspace."""
    found = [each.trackers.github for each in (policy, *policy.workspaces.values())]
    return [gh for gh in found if gh is not None]


def handler(
    shared: Callable[[], Shared], env: Mapping[str, str] = os.environ
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route's handler; `shared` is asked per request, as the bot's parts exist only once started."""

    async def handle(request: web.Request) -> web.Response:
        return await receive(request, shared(), env)

    return handle


def _reply(code: int, **body: Any) -> web.Response:
    return web.json_response(body, status=code)


async def receive(request: web.Request, shared: Shared, env: Mapping[str, str] = os.environ) -> web.Response:
    """Check, then store a `tracker_issue` request for a closed or reopened follow-up issue."""
    body = await request.read()
    try:
        payload = json.loads(body)
    except ValueError:
        return _reply(400, error="the body is not JSON")
    if not isinstance(payload, dict):
        return _reply(400, error="the body is not a JSON object")
    repository = payload.get("repository")
    full_name = str(repository.get("full_name") or "") if isinstance(repository, dict) else ""
    configs = [gh for gh in github_trackers(shared.policy) if gh.repo.casefold() == full_name.casefold()]
    if not full_name or not configs:
        return _reply(404, error=f"no [trackers.github] is configured for repository {full_name!r}")
    given = request.headers.get("X-Hub-Signature-256", "").encode()
    verified = [gh for gh in configs if _signed_by(gh, body, given, env)]
    if not verified:
        return _reply(401, error="missing or wrong X-Hub-Signature-256")
    event = request.headers.get("X-GitHub-Event", "")
    if event == "ping":
        return _reply(200, status="ok")
    issue, action = payload.get("issue"), payload.get("action")
    if event != "issues" or action not in DONE or not isinstance(issue, dict):
        return _reply(200, status="ignored")
    number = issue.get("number")
    found = await _followup(shared, {gh.repo for gh in verified}, number) if isinstance(number, int) else None
    # The follow-up's own workspace must file into this repository, under a secret that signed this.
    if found is None or shared.policy.of(found[0].team_id).trackers.github not in verified:
        return _reply(200, status="ignored")
    updated = _when(issue.get("updated_at"))
    if updated is not None and updated < shared.clock.now() - DONE_MEMORY:
        return _reply(200, status="ignored", reason="the event is older than a day: a replay")
    followup, incident = found
    sender = payload.get("sender")
    who = str(sender.get("login") or "") if isinstance(sender, dict) else ""
    # Not X-GitHub-Delivery: whoever holds a signed body can send it again under any delivery id.
    # The body names the action and the issue's updated_at, so a real later event differs.
    item = NewItem(
        idem_key=f"gh:{hashlib.sha256(body).hexdigest()}",
        order_key=f"ch:{incident.channel_id}" if incident.channel_id else f"followup:{followup.id}",
        op="tracker_issue",
        payload=json.dumps(
            {"followup_id": followup.id, "done": DONE[action], "who": who, "channel": incident.channel_id}
        ),
        team_id=followup.team_id,
        enterprise_id=incident.enterprise_id,
    )
    try:
        new = await shared.inbox.accept(item)
    except Exception as exc:
        log.error("could not store a GitHub issue event: %s", exc)
        return _reply(503, error="could not store the event; retry")
    return _reply(200, status="accepted" if new else "duplicate")


def _when(value: object) -> datetime | None:
    """An ISO 8601 time from the payload (GitHub's `2026-11-22T03:00:00Z`), None if absent or not one."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return when if when is None or when.tzinfo is not None else None


def _signed_by(gh: GitHubTracker, body: bytes, given: bytes, env: Mapping[str, str]) -> bool:
    secret = env.get(gh.webhook_secret_env)
    if not secret:
        log.error(
            "GitHub webhook for %s refused: environment variable %s is not set",
            gh.repo,
            gh.webhook_secret_env,
        )
        return False
    return hmac.compare_digest(given, signature(secret, body).encode())


async def _followup(shared: Shared, repos: set[str], number: int) -> tuple[Followup, Incident] | None:
    """The follow-up filed as issue `number` of the repository, with its incident."""
    async with shared.db.session() as s:
        for repo in sorted(repos):
            followup = await by_tracker(s, GITHUB, f"{repo}#{number}")
            incident = await IncidentRepo(s, followup.team_id).get(followup.incident_id) if followup else None
            if followup is not None and incident is not None:
                return followup, incident
    return None
