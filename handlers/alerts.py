"""Alertmanager notifications, stored by the runtime's webhook and carried out here, in order per group."""

from __future__ import annotations

import logging

from domain.alerts import PayloadError, parse
from domain.errors import IncidentError
from handlers.ops import op
from runtime.inbox_worker import Job
from services.workspace import WorkspaceServices

log = logging.getLogger(__name__)


@op("alert")
async def run_alert(ctx: WorkspaceServices, job: Job) -> None:
    """Declare, update or ignore; a refusal (no channel could be made) is logged, not retried."""
    try:
        notification = parse(job.data["body"].encode())
    except PayloadError as exc:  # stored before the endpoint refused such payloads: nothing to do
        log.error("Alertmanager notification %s dropped: %s", job.id, exc)
        return
    try:
        said = await ctx.alerts.receive(job.steps, notification)
    except IncidentError as exc:
        log.error("Alertmanager notification %s not carried out: %s", job.id, exc)
        return
    log.info("Alertmanager group %s: %s", notification.group_key, said)
