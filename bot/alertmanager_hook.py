"""Keeping an Alertmanager notification in the inbox before the answer, deduplicated by minute."""

from __future__ import annotations

import hashlib
import json
import logging

from aiohttp import web

from bot.app import Shared
from domain.workspace import Team
from storage.inbox import NewItem

log = logging.getLogger(__name__)

ALERTMANAGER_DEDUP_SECONDS = 60


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
