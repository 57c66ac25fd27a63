"""Issue tracker events, stored by the runtime's webhook (`POST /webhooks/github`) and carried out
here, in order with the rest of the incident's requests."""

from __future__ import annotations

import logging

from domain.errors import IncidentError
from handlers.ops import op
from runtime.inbox_worker import Job
from services.workspace import WorkspaceServices

log = logging.getLogger(__name__)


@op("tracker_issue")
async def run_tracker_issue(ctx: WorkspaceServices, job: Job) -> None:
    """A follow-up's issue was closed (the follow-up is done) or reopened (open again)."""
    d = job.data
    try:
        await ctx.followups.set_done(job.steps, d["followup_id"], d["done"], d["who"])
    except IncidentError as exc:  # the follow-up was deleted meanwhile: nothing to change
        log.warning("tracker event for follow-up %s not carried out: %s", d["followup_id"], exc)
