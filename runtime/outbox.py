"""Outbound deliveries: signed webhooks, PagerDuty events and tracker issues, at least once, through
the outbox.

`record()` runs inside the transaction of the change it reports, so an event exists exactly when
the change does. `deliver_due()` (its own scheduler job, never the paging tick) claims due rows
with a fencing token and POSTs them over the app's one httpx.AsyncClient, several at once, each
bounded by services/fetch (`delivery.timeout` in all, a 1 MB answer, no redirects); a
receiver's failure is retried with exponential backoff (honouring Retry-After) and given up after
`delivery.max_attempts`. Redelivery sends the same bytes and the same event id.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import hmac
import json
import logging
import os
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from config.escalation import Level
from config.policy import Policy
from domain.fields import plain_all
from domain.redact import redact_urls
from runtime import trackers
from runtime.clock import Clock
from runtime.fetch import Answer, FetchError, api_limits, send
from storage.db import Database
from storage.fields import FieldRepo
from storage.models import Followup, Incident
from storage.outbox import DELIVERED, FAILED, PENDING, Delivery, OutboxRepo
from storage.people import PeopleRepo

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
PARALLEL = 16
USER_AGENT = "incident-bot (+https://github.com/incident-bot)"
PD_SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}
# (team id, follow-up id, tracker, issue key, issue url): a follow-up was filed as that issue.
OnFiled = Callable[[str, int, str, str, str | None], Awaitable[None]]
# (session, incident, event kind, its data, event id): an incident event was just recorded in that
# session's transaction; what it sets off (workflows) is recorded in the same one.
OnEvent = Callable[[AsyncSession, Incident, str, dict[str, Any], str], Awaitable[None]]


def incident_json(incident: Incident) -> dict[str, Any]:
    """The incident as receivers see it."""

    def iso(at: datetime | None) -> str | None:
        return at.isoformat().replace("+00:00", "Z") if at else None

    return {
        "id": incident.ref,
        "number": incident.number,
        "team_id": incident.team_id,
        "private": incident.private,
        "channel": {"id": incident.channel_id, "name": incident.channel_name},
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "commander": incident.commander_id,
        "declared_at": iso(incident.declared_at),
        "acknowledged_at": iso(incident.acknowledged_at),
        "resolved_at": iso(incident.resolved_at),
    }


def _redacted(body: dict[str, Any]) -> str:
    """A private incident's event for a receiver without `include_private`: what happened and how
    bad, not what it is about (no title, channel, people, impact, summary or fields)."""
    shown = {"id", "number", "team_id", "private", "severity", "status"}
    shown |= {"declared_at", "acknowledged_at", "resolved_at"}
    incident = {k: v for k, v in body["incident"].items() if k in shown}
    return json.dumps({**body, "incident": incident, "data": {}}, sort_keys=True)


def _pagerduty_payload(incident: Incident, level: Level, include_private: bool) -> dict[str, Any]:
    """A trigger's payload; a private incident's, unless PagerDuty is trusted with it, says how bad
    and which, not what (no title, no channel), as a webhook's redacted event does."""
    details: dict[str, Any] = {"channel": incident.channel_name, "level": level.name}
    summary = f"{incident.severity} {incident.ref}: {incident.title}"
    if incident.private and not include_private:
        details = {"level": level.name, "private": True}
        summary = f"Private {incident.severity} incident {incident.ref}"
    return {
        "summary": summary[:1024],
        "source": "incident-bot",
        "severity": PD_SEVERITY.get(incident.severity, "error"),
        "custom_details": details,
    }


def dedup_key(incident_id: int, level: Level) -> str:
    """PagerDuty's dedup key: one alert per incident and level, so trigger/ack/resolve pair up."""
    return f"incident-bot-{incident_id}-{level.name}"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when - now, timedelta(0)) if when.tzinfo else None


class Outbox:
    """Writes deliveries into the outbox and carries them out."""

    def __init__(
        self,
        db: Database,
        policy: Policy,
        clock: Clock,
        http: httpx.AsyncClient,
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.db, self.policy, self.clock, self.http, self.env = db, policy, clock, http, env
        self.on_filed: OnFiled | None = None  # set by the runtime once workspaces exist
        self.on_event: OnEvent | None = None  # set by the app factory: the workflows an event sets off

    async def record(  # type: ignore[no-untyped-def]
        self,
        s,
        incident: Incident,
        kind: str,
        data: dict[str, Any] | None = None,
        level: Level | None = None,
        *,
        to: str | None = None,
    ) -> None:
        """Queue `kind` for every webhook that wants it, and PagerDuty events for `level`, in session `s`;
        then tell `on_event`, in the same transaction. With `to`, only for the webhook of that name
        (a workflow's step sending to it), and nothing else is told."""
        now = self.clock.now()
        repo = OutboxRepo(s)
        event_id = uuid.uuid4().hex
        policy = self.policy.of(incident.team_id)
        hooks = [h for h in policy.webhooks if (h.name == to if to is not None else kind in h.events)]
        wanted = bool(hooks)
        values = await FieldRepo(s).of(incident.id) if policy.fields and wanted else {}
        body = {
            "event_id": event_id,
            "event": kind,
            "occurred_at": now.isoformat().replace("+00:00", "Z"),
            "incident": {**incident_json(incident), "fields": plain_all(policy.fields, values)},
            "data": data or {},
        }
        encoded = json.dumps(body, sort_keys=True)
        for hook in hooks:
            told = encoded if hook.include_private or not incident.private else _redacted(body)
            await repo.add(event_id, incident.id, f"webhook:{hook.url}", kind, told, now)
        if to is not None:
            return
        action = {"paged": "trigger", "acknowledged": "acknowledge", "resolved": "resolve"}.get(kind)
        levels = [level] if level is not None else []
        if kind == "resolved":
            levels = [lvl for lvl in policy.escalation.levels if lvl.pagerduty_routing_key]
        for lvl in levels:
            if action and lvl.pagerduty_routing_key:
                event: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key(incident.id, lvl)}
                if action == "trigger":
                    event["payload"] = _pagerduty_payload(incident, lvl, policy.pagerduty.include_private)
                await repo.add(
                    event_id,
                    incident.id,
                    f"pagerduty:{lvl.name}",
                    f"pagerduty.{action}",
                    json.dumps(event),
                    now,
                )
        if self.on_event is not None:
            await self.on_event(s, incident, kind, data or {}, event_id)

    async def file_followup(self, s: AsyncSession, incident: Incident, followup: Followup) -> None:
        """Queue an issue for `followup` in each tracker of the incident's workspace, in session `s`."""
        policy = self.policy.of(incident.team_id)
        if policy.trackers.github is None and policy.trackers.jira is None:
            return
        name = await PeopleRepo(s, incident.team_id).name(followup.owner_id)
        owner = f"{name} (Slack {followup.owner_id})" if name else f"Slack user {followup.owner_id}"
        repo, now, event_id = OutboxRepo(s), self.clock.now(), uuid.uuid4().hex
        for target, kind, body in trackers.issue_bodies(policy, incident, followup, owner):
            await repo.add(event_id, incident.id, target, kind, body, now)

    async def deliver_due(self, rounds: int = 20) -> int:
        """Claim due deliveries and attempt each once, again while that frees the next event of an
        incident (only the oldest undelivered one per receiver is claimable); returns attempts made."""
        limit = asyncio.Semaphore(PARALLEL)

        async def one(d: Delivery) -> None:
            async with limit:
                await self._attempt(d)

        attempted = 0
        for _ in range(rounds):
            now = self.clock.now()
            async with self.db.session() as s:
                due = await OutboxRepo(s).claim_due(now, now + LEASE)
            if not due:
                break
            await asyncio.gather(*(one(d) for d in due))
            attempted += len(due)
        return attempted

    def _request(self, d: Delivery) -> tuple[str, bytes, dict[str, str]] | str:
        """URL, body and headers for a delivery, or why it cannot be sent any more."""
        kind, _, name = d.target.partition(":")
        policy = self.policy.of(d.team_id)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if kind == "webhook":
            hook = next((h for h in policy.webhooks if h.url == name), None)
            if hook is None:
                return "webhook no longer configured"
            body = d.body.encode()
            headers["X-Incident-Bot-Signature"] = signature(hook.secret, body)
            headers["X-Incident-Bot-Event-Id"] = d.event_id
            return hook.url, body, headers
        if kind in trackers.KINDS:
            return trackers.issue_request(policy, kind, d.body, self.env, headers)
        level = next((lvl for lvl in policy.escalation.levels if lvl.name == name), None)
        if level is None or not level.pagerduty_routing_key:
            return "PagerDuty level no longer configured"
        key = self.env.get(level.pagerduty_routing_key)
        if not key:
            return f"environment variable {level.pagerduty_routing_key} is not set"
        event = {"routing_key": key, **json.loads(d.body)}
        return policy.pagerduty.events_url, json.dumps(event).encode(), headers

    async def _attempt(self, d: Delivery) -> None:
        request = self._request(d)
        wait: timedelta | None = None
        answer: Answer | None = None
        error: str | None
        if isinstance(request, str):
            outcome, error = FAILED, request
        else:
            url, body, headers = request
            limits = api_limits(self.policy.delivery.timeout)
            try:
                resp = await send(self.http, "POST", url, body, headers, limits)
            except FetchError as exc:  # a deadline passed, a transport error, a redirect
                outcome, error = PENDING, str(exc)
            else:
                # Any 2xx is final. Trackers take no idempotency key: an issue is filed twice only
                # when it was made but its answer lost (a timeout, a dropped connection) and retried.
                if resp.ok:
                    outcome, error, answer = DELIVERED, None, resp
                else:
                    outcome, error = PENDING, f"HTTP {resp.status}"
                    wait = retry_after(resp.headers.get("Retry-After"), self.clock.now())
        # A webhook's path is often its key: a stored or logged error names the host only.
        error = redact_urls(error)[:300] if error is not None else None
        attempts = d.attempts + 1
        if outcome == PENDING and attempts >= self.policy.delivery.max_attempts:
            outcome = FAILED
        next_at = None
        if outcome == PENDING:
            cfg = self.policy.delivery
            backoff = min(cfg.backoff * (2 ** (attempts - 1)), cfg.max_backoff)
            backoff *= random.uniform(0.8, 1.2)  # spread retries of many rows
            next_at = self.clock.now() + max(backoff, wait or timedelta(0))
        async with self.db.session() as s:
            await OutboxRepo(s).finish(d, outcome, self.clock.now(), next_attempt_at=next_at, error=error)
        if answer is not None and d.kind in trackers.KINDS.values():
            await self._filed(d, answer)
        if outcome != DELIVERED:
            level = logging.ERROR if outcome == FAILED else logging.WARNING
            what = "gave up on" if outcome == FAILED else "will retry"
            log.log(
                level,
                "%s %s %s for %s (attempt %d): %s",
                what,
                d.kind,
                d.event_id,
                d.target.split(":")[0],
                attempts,
                error,
                extra={"incident_id": d.incident_id},
            )

    async def _filed(self, d: Delivery, answer: Answer) -> None:
        """Tell the follow-up's workspace which issue it became, once the row is delivered: a failure
        here is logged, and the issue is not filed again."""
        tracker, _, followup_id = d.target.partition(":")
        try:
            issue = trackers.filed_issue(self.policy.of(d.team_id), tracker, answer.json())
        except ValueError as exc:  # not JSON, or cut at the size limit
            log.error("%s filed follow-up %s but its answer could not be read: %s", tracker, followup_id, exc)
            return
        if issue is None:
            log.error("%s filed follow-up %s but its answer names no issue", tracker, followup_id)
            return
        if self.on_filed is None:
            return
        try:
            await self.on_filed(d.team_id, int(followup_id), tracker, *issue)
        except Exception:
            log.exception("follow-up %s was filed as %s but could not be linked to it", followup_id, issue[0])
