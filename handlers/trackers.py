"""Issue trackers: `POST /webhooks/github`, an issue filed for a follow-up closed or reopened on GitHub,
marks the follow-up done or open again. The request is signature-checked, then stored in the inbox and
carried out in order with the rest of its incident's requests. A signed body is carried out once: it
is deduplicated on its own hash, and refused once older than the inbox remembers."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from config.aftercare import GitHubTracker
from domain.errors import IncidentError
from handlers.wiring import Wiring
from runtime import keys
from runtime.inbox_worker import DONE_MEMORY
from runtime.ops import Job, Request
from runtime.outbox import signature
from services.followups import Followups
from services.tracker_events import github_trackers

log = logging.getLogger(__name__)

GITHUB_PATH = "/webhooks/github"
DONE = {"closed": True, "reopened": False}


class TrackerIssue(Request):
    """A follow-up's issue closed (`done`) or reopened, by `who`; in order with its incident's
    channel, else with the follow-up alone."""

    OP = "tracker_issue"
    followup_id: int
    done: bool
    who: str
    channel: str | None = None
    body_key: str | None = None  # keys.github of the signed body it came in

    def order_key(self) -> str:
        return keys.channel(self.channel) if self.channel else keys.followup(self.followup_id)

    def idem_key(self) -> str | None:
        return self.body_key


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The GitHub webhook and the op it stores."""
    wiring.op(TrackerIssue, run_tracker_issue)
    wiring.webhook(GITHUB_PATH, partial(github_event, wiring=wiring))


def _reply(code: int, **body: Any) -> web.Response:
    return web.json_response(body, status=code)


async def github_event(request: web.Request, wiring: Wiring) -> web.Response:
    """Check, then store a `tracker_issue` request for a closed or reopened follow-up issue."""
    inbound = wiring.inbound
    assert inbound is not None
    body = await request.read()
    try:
        payload = json.loads(body)
    except ValueError:
        return _reply(400, error="the body is not JSON")
    if not isinstance(payload, dict):
        return _reply(400, error="the body is not a JSON object")
    repository = payload.get("repository")
    full_name = str(repository.get("full_name") or "") if isinstance(repository, dict) else ""
    configs = [gh for gh in github_trackers(inbound.policy) if gh.repo.casefold() == full_name.casefold()]
    if not full_name or not configs:
        return _reply(404, error=f"no [trackers.github] is configured for repository {full_name!r}")
    given = request.headers.get("X-Hub-Signature-256", "").encode()
    verified = [gh for gh in configs if _signed_by(gh, body, given, inbound.env)]
    if not verified:
        return _reply(401, error="missing or wrong X-Hub-Signature-256")
    event = request.headers.get("X-GitHub-Event", "")
    if event == "ping":
        return _reply(200, status="ok")
    issue, action = payload.get("issue"), payload.get("action")
    if event != "issues" or action not in DONE or not isinstance(issue, dict):
        return _reply(200, status="ignored")
    number = issue.get("number")
    found = await inbound.trackers.github_followup(verified, number) if isinstance(number, int) else None
    if found is None:
        return _reply(200, status="ignored")
    updated = _when(issue.get("updated_at"))
    if updated is not None and updated < inbound.clock.now() - DONE_MEMORY:
        return _reply(200, status="ignored", reason="the event is older than a day: a replay")
    sender = payload.get("sender")
    who = str(sender.get("login") or "") if isinstance(sender, dict) else ""
    change = TrackerIssue(
        followup_id=found.followup_id,
        done=DONE[action],
        who=who,
        channel=found.channel_id,
        body_key=keys.github(body),
    )
    try:
        new = await wiring.intake(found.team).keep(change)
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


async def run_tracker_issue(job: Job[TrackerIssue], followups: Followups) -> None:
    """A follow-up's issue was closed (the follow-up is done) or reopened (open again)."""
    r = job.request
    try:
        await followups.set_done(job.steps, r.followup_id, r.done, r.who)
    except IncidentError as exc:  # the follow-up was deleted meanwhile: nothing to change
        log.warning("tracker event for follow-up %s not carried out: %s", r.followup_id, exc)
