"""`incident-bot inbox status`: requests by state, the oldest unfinished, and the ones given up on or
stuck, each with its workspace, kind, order key, attempts, age and last error."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.terminal import say
from domain.durations import format_duration

if TYPE_CHECKING:  # the CLI parser imports the bot package: storage loads only when the command runs
    from config.settings import Settings
    from storage.models import InboxItem

# A request still unfinished this long after its acknowledgement is listed as stuck (a healthy bot
# carries one out within seconds; one retried through an outage shows here with its last error).
STUCK_AFTER = timedelta(minutes=5)
SHOWN = 50  # rows listed of each kind


async def status(settings: Settings, now: datetime | None = None) -> int:
    """Print the inbox's state; `now` is for tests (the real clock otherwise)."""
    from bot.preflight import existing_database
    from storage.inbox import InboxRepo

    async with existing_database(settings.database_url) as (db, migrated):
        if not migrated:
            print("no requests yet")
            return 0
        now = now or datetime.now(UTC)
        async with db.session() as s:
            repo = InboxRepo(s)
            summary, oldest = await repo.summary(), await repo.oldest_open()
            failed = await repo.failed(SHOWN)
            stuck, stuck_total = await repo.stuck(now - STUCK_AFTER, now, SHOWN)
    if not summary:
        print("no requests yet")
    for state, count in summary:
        print(f"{state}\t{count}")
    if oldest is not None:
        print(f"oldest unfinished: acknowledged {oldest:%Y-%m-%d %H:%M:%S} UTC ({_ago(now, oldest)})")
    for row in stuck:
        say(f"stuck {row.state}: {_describe(row, now)}, {_progress(row, now)}")
    if stuck_total > len(stuck):
        print(f"… and {stuck_total - len(stuck)} more stuck")
    for row in failed:
        say(f"failed: {_describe(row, now)}, {row.attempts + 1} attempts{_error(row)}")
    given_up = dict(summary).get("failed", 0)
    if given_up > len(failed):
        print(f"… and {given_up - len(failed)} more failed")
    return 0


def _ago(now: datetime, then: datetime) -> str:
    return f"{format_duration(max(now - then, timedelta(seconds=1)))} ago"


def _payload(row: InboxItem) -> dict[str, Any]:
    try:
        data = json.loads(row.payload)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(row: InboxItem, now: datetime) -> str:
    """What was asked, by whom, where, in which workspace and order, and when."""
    data = _payload(row)
    what = f": /incident {data['command']}" if data.get("command") else ""
    who = f" from {data['user']}" if data.get("user") else ""
    where = f" in {data['channel']}" if data.get("channel") else ""
    return (
        f"#{row.id} {row.op}{what}{who}{where}; workspace {row.team_id or '(single)'}, "
        f"order {row.order_key}, acknowledged {row.created_at:%Y-%m-%d %H:%M:%S} UTC "
        f"({_ago(now, row.created_at)})"
    )


def _error(row: InboxItem) -> str:
    return f": {row.last_error}" if row.last_error else ""


def _progress(row: InboxItem, now: datetime) -> str:
    """Where a stuck row is: taken by a worker (alive or not), retried later, or not tried yet."""
    if row.state == "working":
        if row.lease_until is not None and row.lease_until < now:
            gone = _ago(now, row.lease_until)
            return f"lease expired {gone} (its worker stopped; a running bot takes it over)"
        return f"{row.attempts} attempts before this one, being carried out now{_error(row)}"
    if not row.attempts:
        return "not tried yet (it waits for the requests before it in its order, or for a running bot)"
    if row.next_attempt_at > now:
        nxt = f"next attempt in {format_duration(max(row.next_attempt_at - now, timedelta(seconds=1)))}"
    else:
        nxt = "next attempt due now"
    return f"{row.attempts} attempts, {nxt}{_error(row)}"
