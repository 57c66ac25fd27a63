"""Alertmanager intake: a firing group declares an incident; later notifications update it.

Resolution stays a human decision: resolved alerts are reported in the channel, never auto-resolved.
Within `[alertmanager] reopen_window` of a human resolution, alerts still firing are said in the
resolved incident's channel (once per set of firing alerts) and page nobody; after it they declare anew.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.policy import Policy
from domain.alerts import MAX_TITLE, Alert, Notification
from domain.durations import format_duration
from domain.severity import Severity
from domain.urls import safe_url
from messages import alerts as templates
from runtime.clock import Clock
from runtime.journal import Outcome, Steps
from runtime.slack_ops import SlackOps
from services.catalog import ServiceCatalog
from services.lifecycle import Lifecycle
from storage.alerts import AlertRepo
from storage.db import Database
from storage.models import AlertGroup, Incident
from storage.repositories import IncidentRepo, TimelineRepo

log = logging.getLogger(__name__)

STILL_FIRING = "Alertmanager: still firing after resolution"
# A longer one is no link a person follows, and would crowd the initial post's field (2,000 characters).
MAX_RUNBOOK_URL = 1000


class AlertIntake:
    """Turns notifications into declarations and channel updates, exactly once per change."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        lifecycle: Lifecycle,
        policy: Policy,
        catalog: ServiceCatalog,
        clock: Clock,
        team_id: str,
    ) -> None:
        self.db, self.slack, self.lifecycle, self.policy, self.clock = db, slack, lifecycle, policy, clock
        self.catalog, self.team_id = catalog, team_id

    def severity(self, n: Notification) -> Severity:
        """From the `severity` label (common, else the worst among firing alerts) via the map."""
        am = self.policy.alertmanager
        labels = [n.common_labels.get("severity")] + [
            a.labels.get("severity") for a in n.alerts if a.status == "firing"
        ]
        found = [am.severity_map[x.lower()] for x in labels if x and x.lower() in am.severity_map]
        return min(found, key=lambda s: s.rank) if found else am.default_severity

    def title(self, n: Notification) -> str:
        """`alertname: summary`, from the common labels and annotations (else the first firing alert)."""
        first = _first_firing(n)
        name = n.common_labels.get("alertname") or first.name
        summary = n.common_annotations.get("summary") or first.annotations.get("summary")
        title = f"{name}: {summary}" if summary else name
        return " ".join(title.split())[:MAX_TITLE]

    def service(self, n: Notification) -> str | None:
        """The service whose `alerts` labels the common labels carry, else the first firing alert's."""
        catalog = self.catalog.current
        found = catalog.for_alert(n.common_labels) or catalog.for_alert(_first_firing(n).labels)
        return found.name if found else None

    def runbook_url(self, n: Notification) -> str | None:
        """The `runbook_url` annotation (common, else the first firing alert's) when it is a clean
        http(s) URL of at most MAX_RUNBOOK_URL characters; None otherwise."""
        url = n.common_annotations.get("runbook_url") or _first_firing(n).annotations.get("runbook_url")
        if not url or len(url) > MAX_RUNBOOK_URL or any(c in url for c in "<>|") or not safe_url(url):
            return None
        return url

    async def receive(self, steps: Steps, n: Notification) -> str:
        """Declare, update or do nothing; returns what happened. Notifications of one group are
        carried out one at a time, in order (the inbox orders them by group)."""
        key_hash = hashlib.sha256(n.group_key.encode()).hexdigest()

        async def plan(s: AsyncSession) -> dict[str, Any]:
            group = await AlertRepo(s, self.team_id).group(key_hash, for_update=True)
            incident = (
                await IncidentRepo(s, self.team_id).get(group.incident_id)
                if group and group.incident_id
                else None
            )
            if incident is not None and incident.is_open:
                firing, resolved = await self._record_changes(s, incident.id, n)
                return {
                    "do": "update",
                    "incident": incident.id,
                    "firing": [a.fingerprint for a in firing],
                    "resolved": [a.fingerprint for a in resolved],
                }
            if group is not None and incident is not None and self._recently_resolved(incident, steps.at):
                return await self._after_resolution(s, steps, group, incident, n)
            if not any(a.status == "firing" for a in n.alerts):
                return {"do": "ignore"}
            if group is None:
                AlertRepo(s, self.team_id).add_group(key_hash, n.group_key, steps.at)
            else:
                group.incident_id, group.claimed_at, group.still_firing = None, steps.at, None
            return {"do": "declare"}

        decided = await steps.db("plan", plan)
        if decided["do"] == "ignore":
            return "ignored: nothing is firing and no incident is open"
        if decided["do"] == "declare":
            return await self._declare(steps, key_hash, n)
        if decided["do"] == "recorded":
            return f"recorded: INC-{decided['incident']} is resolved"
        if decided["do"] == "still_firing":
            return await self._say_still_firing(steps, decided["incident"], decided["firing"], n)
        if not decided["firing"] and not decided["resolved"]:
            return "unchanged"
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(decided["incident"])
        assert incident is not None
        firing = [a for a in n.alerts if a.fingerprint in decided["firing"]]
        resolved = [a for a in n.alerts if a.fingerprint in decided["resolved"]]
        await Outcome(incident, steps).step(
            "post",
            lambda: self.slack.post(
                incident.channel_id or "", templates.alerts_changed(incident, firing, resolved)
            ),
        )
        return f"updated {incident.ref}"

    def _recently_resolved(self, incident: Incident, at: datetime) -> bool:
        """Resolved by a human less than `reopen_window` before the notification arrived."""
        resolved = incident.resolved_at
        return resolved is not None and at - resolved < self.policy.alertmanager.reopen_window

    async def _after_resolution(
        self, s: AsyncSession, steps: Steps, group: AlertGroup, incident: Incident, n: Notification
    ) -> dict[str, Any]:
        """Keep the alerts' states; say "still firing" only for a set of firing alerts not said yet
        since this resolution (Alertmanager repeats a group every repeat_interval)."""
        await self._record_changes(s, incident.id, n, note=False)
        firing = sorted({a.fingerprint for a in n.alerts if a.status == "firing"})
        if not firing:
            return {"do": "recorded", "incident": incident.id}
        assert incident.resolved_at is not None
        said = "\n".join([str(incident.id), incident.resolved_at.isoformat(), *firing])
        said = hashlib.sha256(said.encode()).hexdigest()
        if group.still_firing == said:
            return {"do": "recorded", "incident": incident.id}
        group.still_firing = said
        await TimelineRepo(s).record(incident.id, "alerts", STILL_FIRING, steps.at)
        return {"do": "still_firing", "incident": incident.id, "firing": firing}

    async def _say_still_firing(
        self, steps: Steps, incident_id: int, firing: list[str], n: Notification
    ) -> str:
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(incident_id)
        assert incident is not None
        alerts = [a for a in n.alerts if a.status == "firing" and a.fingerprint in firing]
        window = format_duration(self.policy.alertmanager.reopen_window)
        await Outcome(incident, steps).step(
            "post",
            lambda: self.slack.post(
                incident.channel_id or "", templates.still_firing(incident, alerts, window)
            ),
        )
        return f"{incident.ref} is resolved: said its alerts are still firing, paged nobody"

    async def _declare(self, steps: Steps, key_hash: str, n: Notification) -> str:
        firing = [a for a in n.alerts if a.status == "firing"]
        out = await self.lifecycle.declare(
            steps,
            self.severity(n),
            self.title(n),
            None,
            impact=templates.alert_list(firing),
            service=self.service(n),
            runbook_url=self.runbook_url(n),
        )
        incident = out.incident

        async def link(s: AsyncSession) -> None:
            group = await AlertRepo(s, self.team_id).group(key_hash)
            if group is not None:
                group.incident_id, group.still_firing = incident.id, None
            await self._record_changes(s, incident.id, n, note=False)
            await TimelineRepo(s).record(
                incident.id,
                "alerts",
                f"Declared by Alertmanager: {len(firing)} alert(s) firing",
                self.clock.now(),
            )

        await steps.db("link", link)
        return f"declared {incident.ref} in {incident.channel_id}"

    async def _record_changes(
        self, s: AsyncSession, incident_id: int, n: Notification, note: bool = True
    ) -> tuple[list[Alert], list[Alert]]:
        """Store each alert's status; return the newly firing and the newly resolved ones."""
        changed = await AlertRepo(s, self.team_id).record_states(
            incident_id, [(a.fingerprint, a.status) for a in n.alerts]
        )
        firing = [a for a in n.alerts if changed.get(a.fingerprint) == "firing"]
        resolved = [a for a in n.alerts if changed.get(a.fingerprint) == "resolved"]
        if note and (firing or resolved):
            await TimelineRepo(s).record(
                incident_id,
                "alerts",
                f"Alertmanager: {len(firing)} firing, {len(resolved)} resolved",
                self.clock.now(),
            )
        return firing, resolved


def _first_firing(n: Notification) -> Alert:
    """The first firing alert (the first alert when none fires)."""
    return next((a for a in n.alerts if a.status == "firing"), n.alerts[0])
