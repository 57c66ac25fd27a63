"""Alertmanager intake: a firing group declares an incident; later notifications update it.

Resolution stays a human decision: resolved alerts are reported in the channel, never auto-resolved.
Within `[alertmanager] reopen_window` of a human resolution, alerts still firing are said in the
resolved incident's channel (once per set of firing alerts) and page nobody; after it they declare anew.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.journal import Outcome, Steps
from bot.lifecycle import Lifecycle
from bot.severity import Severity
from bot.slack_ops import SlackOps
from config.durations import format_duration
from config.policy import Policy
from messages import alerts as templates
from storage.db import Database
from storage.models import AlertGroup, AlertState, Incident
from storage.repositories import IncidentRepo, TimelineRepo

log = logging.getLogger(__name__)

MAX_TITLE = 200
STILL_FIRING = "Alertmanager: still firing after resolution"
# PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded for Slack or the database.
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PayloadError(ValueError):
    """The body is not an Alertmanager v4 webhook notification; the message says why."""


@dataclass(frozen=True)
class Alert:
    """One alert of a notification."""

    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None
    fingerprint: str

    @property
    def name(self) -> str:
        """The alertname label."""
        return self.labels.get("alertname", "alert")


@dataclass(frozen=True)
class Notification:
    """A webhook notification (version 4)."""

    group_key: str
    status: str
    alerts: list[Alert]
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise PayloadError(f"{where} must be an object of strings")
    return dict(value)


def _path(where: str, key: str) -> str:
    if _NAME.match(key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"


def _check_text(data: Any) -> None:
    """PayloadError naming the first string, key or value, anywhere (unknown fields too), that
    holds a NUL or a lone surrogate."""

    def problem(text: str) -> str | None:
        bad = _BAD_TEXT.search(text)
        if bad is None:
            return None
        return "a NUL byte" if bad.group() == "\x00" else "invalid Unicode (a lone surrogate)"

    todo: list[tuple[Any, str]] = [(data, "")]  # depth first, in document order, without recursion
    while todo:
        value, where = todo.pop()
        if isinstance(value, str):
            if said := problem(value):
                raise PayloadError(f"{where or 'body'} contains {said}")
        elif isinstance(value, dict):
            for key in value:
                if said := problem(key):
                    raise PayloadError(f"{where or 'body'}: a key ({json.dumps(key)}) contains {said}")
            todo.extend((v, _path(where, k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            todo.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(value))))


def parse(body: bytes) -> Notification:
    """Validate and read a notification; PayloadError names the first problem."""
    try:
        # Strictly UTF-8, as JSON over HTTP is: json.loads(bytes) would also take UTF-16 and UTF-32.
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    _check_text(data)
    if not isinstance(data, dict):
        raise PayloadError("body must be a JSON object")
    if data.get("version") != "4":
        raise PayloadError(f'version must be "4", got {data.get("version")!r}')
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("groupKey must be a non-empty string")
    status = data.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError('status must be "firing" or "resolved"')
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError("alerts must be a non-empty list")
    alerts = []
    for i, raw in enumerate(raw_alerts):
        if not isinstance(raw, dict):
            raise PayloadError(f"alerts[{i}] must be an object")
        if raw.get("status") not in ("firing", "resolved"):
            raise PayloadError(f'alerts[{i}].status must be "firing" or "resolved"')
        labels = _str_map(raw.get("labels"), f"alerts[{i}].labels")
        if not labels:
            raise PayloadError(f"alerts[{i}].labels must not be empty")
        url = raw.get("generatorURL")
        fingerprint = raw.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            fingerprint = hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]
        alerts.append(
            Alert(
                status=raw["status"],
                labels=labels,
                annotations=_str_map(raw.get("annotations"), f"alerts[{i}].annotations"),
                generator_url=url
                if isinstance(url, str) and url.startswith(("http://", "https://"))
                else None,
                fingerprint=fingerprint[:64],
            )
        )
    return Notification(
        group_key=group_key,
        status=status,
        alerts=alerts,
        common_labels=_str_map(data.get("commonLabels"), "commonLabels"),
        common_annotations=_str_map(data.get("commonAnnotations"), "commonAnnotations"),
    )


class AlertIntake:
    """Turns notifications into declarations and channel updates, exactly once per change."""

    def __init__(
        self, db: Database, slack: SlackOps, lifecycle: Lifecycle, policy: Policy, clock: Clock
    ) -> None:
        self.db, self.slack, self.lifecycle, self.policy, self.clock = db, slack, lifecycle, policy, clock

    def severity(self, n: Notification) -> Severity:
        """From the `severity` label (common, else the worst among firing alerts) via the map."""
        am = self.policy.alertmanager
        labels = [n.common_labels.get("severity")] + [
            a.labels.get("severity") for a in n.alerts if a.status == "firing"
        ]
        found = [
            Severity(am.severity_map[x.lower()].upper()) for x in labels if x and x.lower() in am.severity_map
        ]
        return min(found, key=lambda s: s.rank) if found else Severity(am.default_severity.upper())

    def title(self, n: Notification) -> str:
        """`alertname: summary`, from the common labels and annotations (else the first firing alert)."""
        first = next((a for a in n.alerts if a.status == "firing"), n.alerts[0])
        name = n.common_labels.get("alertname") or first.name
        summary = n.common_annotations.get("summary") or first.annotations.get("summary")
        title = f"{name}: {summary}" if summary else name
        return " ".join(title.split())[:MAX_TITLE]

    async def receive(self, steps: Steps, n: Notification) -> str:
        """Declare, update or do nothing; returns what happened. Notifications of one group are
        carried out one at a time, in order (the inbox orders them by group)."""
        key_hash = hashlib.sha256(n.group_key.encode()).hexdigest()

        async def plan(s: AsyncSession) -> dict[str, Any]:
            group = await s.get(AlertGroup, key_hash, with_for_update=True)
            incident = await IncidentRepo(s).get(group.incident_id) if group and group.incident_id else None
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
                s.add(
                    AlertGroup(
                        key_hash=key_hash, group_key=n.group_key, incident_id=None, claimed_at=steps.at
                    )
                )
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
            incident = await IncidentRepo(s).get(decided["incident"])
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
            incident = await IncidentRepo(s).get(incident_id)
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
            steps, self.severity(n), self.title(n), None, impact=templates.alert_list(firing)
        )
        incident = out.incident

        async def link(s: AsyncSession) -> None:
            group = await s.get(AlertGroup, key_hash)
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

    async def _record_changes(  # type: ignore[no-untyped-def]
        self, s, incident_id: int, n: Notification, note: bool = True
    ) -> tuple[list[Alert], list[Alert]]:
        """Store each alert's status; return the newly firing and the newly resolved ones."""
        stmt = select(AlertState.fingerprint, AlertState.status).where(AlertState.incident_id == incident_id)
        known = {row.fingerprint: row for row in await s.execute(stmt)}
        firing, resolved = [], []
        for alert in n.alerts:
            row = known.get(alert.fingerprint)
            if row is None:
                s.add(AlertState(incident_id=incident_id, fingerprint=alert.fingerprint, status=alert.status))
                known[alert.fingerprint] = AlertState(fingerprint=alert.fingerprint, status=alert.status)
                if alert.status == "firing":
                    firing.append(alert)
            elif row.status != alert.status:
                await s.execute(
                    update(AlertState)
                    .where(AlertState.incident_id == incident_id, AlertState.fingerprint == alert.fingerprint)
                    .values(status=alert.status)
                )
                (firing if alert.status == "firing" else resolved).append(alert)
        if note and (firing or resolved):
            await TimelineRepo(s).record(
                incident_id,
                "alerts",
                f"Alertmanager: {len(firing)} firing, {len(resolved)} resolved",
                self.clock.now(),
            )
        return firing, resolved
