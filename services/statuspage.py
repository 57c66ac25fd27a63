"""Atlassian Statuspage: publish the public incident on an explicit command, resolve it on a click."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import httpx

from config.policy import Policy
from domain.errors import IncidentError
from domain.urls import safe_url
from messages import statuspage as templates
from runtime.clock import Clock
from runtime.fetch import Answer, FetchError, Redirected, api_limits, send
from runtime.outbox import retry_after
from runtime.slack_ops import SlackOps
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo, TimelineRepo

log = logging.getLogger(__name__)

STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUS = {
    "SEV1": "major_outage",
    "SEV2": "partial_outage",
    "SEV3": "degraded_performance",
    "SEV4": "degraded_performance",
}
ATTEMPTS = 3


class StatuspageService:
    """Creates and updates the incident's public counterpart (people decide; the bot types)."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        policy: Policy,
        clock: Clock,
        http: httpx.AsyncClient,
        team_id: str,
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.db, self.slack, self.policy, self.clock, self.http = db, slack, policy, clock, http
        self.team_id, self.env = team_id, env

    @property
    def enabled(self) -> bool:
        """Whether `[statuspage]` is configured."""
        return self.policy.statuspage is not None

    async def _call(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        cfg = self.policy.statuspage
        assert cfg is not None
        headers = {
            "Authorization": f"OAuth {self.env.get(cfg.api_key_env, '')}",
            "Content-Type": "application/json",
        }
        url = f"{cfg.api_url.rstrip('/')}/pages/{cfg.page_id}/{path}"
        body = json.dumps(payload).encode()
        # Each attempt within `[delivery] timeout` in all, a 1 MB answer, no redirects.
        limits = api_limits(self.policy.delivery.timeout)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                resp = await send(self.http, method, url, body, headers, limits)
            except Redirected as exc:
                raise IncidentError(
                    f"The status page answered with a redirect ({exc}); nothing was published. "
                    "Check `api_url` in `[statuspage]`."
                ) from None
            except FetchError as exc:
                error = str(exc)
                wait = 1.0
            else:
                if resp.ok:
                    return _incident(resp)
                if resp.status < 500 and resp.status != 429:
                    raise IncidentError(f"The status page refused the update (HTTP {resp.status}).")
                error = f"HTTP {resp.status}"
                later = retry_after(resp.headers.get("Retry-After"), self.clock.now())
                wait = min(later.total_seconds(), 5.0) if later else 1.0
            log.warning(
                "Statuspage %s %s failed (%s), attempt %d", method, path.split("/")[0], error, attempt
            )
            if attempt < ATTEMPTS:
                await asyncio.sleep(wait)
        raise IncidentError(f"The status page did not answer ({error}); nothing was published. Try again.")

    def _components(self, incident: Incident, status: str) -> dict[str, str]:
        cfg = self.policy.statuspage
        assert cfg is not None
        state = "operational" if status == "resolved" else COMPONENT_STATUS[incident.severity]
        return {component_id: state for component_id in cfg.components.values()}

    async def publish(self, channel_id: str, status: str, text: str, by: str) -> None:
        """Create (first time) or update the public incident, then confirm in the channel with its link."""
        if not self.enabled:
            raise IncidentError("No status page is configured (`[statuspage]` in the policy file).")
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
        if incident is None:
            raise IncidentError("`/incident statuspage` only works in an incident channel.")
        if incident.private:
            raise IncidentError(
                f"{incident.ref} is private: nothing about it goes on the public status page."
            )
        components = self._components(incident, status)
        body: dict[str, Any] = {"status": status, "body": text, "components": components}
        body["component_ids"] = list(components)
        if incident.statuspage_id:
            answer = await self._call("PATCH", f"incidents/{incident.statuspage_id}", {"incident": body})
        else:
            body["name"] = incident.title
            answer = await self._call("POST", "incidents", {"incident": body})
        link = safe_url(answer.get("shortlink")) or incident.statuspage_link
        async with self.db.session() as s:
            row = await IncidentRepo(s, self.team_id).get(incident.id)
            assert row is not None
            row.statuspage_id = str(answer.get("id") or incident.statuspage_id)
            row.statuspage_link, row.statuspage_status = link, status
            await TimelineRepo(s).record(
                incident.id, "statuspage", f"Status page ({status}): {text}", self.clock.now(), author_id=by
            )
        await self.slack.post(channel_id, templates.published(incident, status, text, link, by))

    async def offer_resolve(self, channel_id: str) -> None:
        """After a Slack resolve: ask (a button) whether to resolve the public incident too."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
        if incident and incident.statuspage_id and incident.statuspage_status != "resolved":
            await self.slack.post(channel_id, templates.resolve_offer(incident))

    async def resolve_public(self, incident_id: int, by: str) -> tuple[Incident, str | None]:
        """The click: resolve the public incident and set its components operational."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(incident_id)
        if incident is None or not incident.statuspage_id:
            raise IncidentError("There is no public incident to resolve.")
        if incident.statuspage_status != "resolved":
            body = {"status": "resolved", "body": "This incident has been resolved.",
                    "components": self._components(incident, "resolved")}  # fmt: skip
            await self._call("PATCH", f"incidents/{incident.statuspage_id}", {"incident": body})
            async with self.db.session() as s:
                row = await IncidentRepo(s, self.team_id).get(incident.id)
                assert row is not None
                row.statuspage_status = "resolved"
                await TimelineRepo(s).record(
                    incident.id,
                    "statuspage",
                    "Status page: public incident resolved",
                    self.clock.now(),
                    author_id=by,
                )
        return incident, incident.statuspage_link


def _incident(resp: Answer) -> dict[str, Any]:
    """The public incident an answer describes; IncidentError when it cannot be read."""
    try:
        answer = resp.json()
    except ValueError as exc:  # not JSON, or cut at the size limit
        raise IncidentError(
            f"The status page's answer could not be read ({exc}); check the status page."
        ) from None
    if not isinstance(answer, dict):
        raise IncidentError("The status page's answer names no incident; check the status page.")
    return answer
