"""The inbox's write path, on the way to Slack's 200: one round trip per group of requests.

A group is one INSERT … ON CONFLICT … RETURNING, atomic by itself. On SQLite it runs as a whole in
a thread (one hand-over, not one per cursor call); on PostgreSQL it is one statement on the driver's
connection (no BEGIN/COMMIT round trips), which also notifies the workers of the keys it stored.
Rows get their ids in the order of the group. A redelivery of a request that is pending, working or
done adds nothing; one that was given up on (failed) is taken up again, from where its journal stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import sqlite

from storage.db import Database
from storage.inbox import FAILED, INBOX_CHANNEL, PENDING, NewItem
from storage.models import InboxItem

_t = InboxItem.__table__
_insert = sqlite.insert(_t)
_SQLITE_INSERT = _insert.on_conflict_do_update(
    index_elements=[_t.c.idem_key],
    set_={
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": _insert.excluded.next_attempt_at,
        "lease_until": None,
        "done_at": None,
        "last_error": None,
        "first_attempt_at": None,
    },
    where=_t.c.state == FAILED,
).returning(_t.c.idem_key)
# Workers in other processes LISTEN on INBOX_CHANNEL (storage/wakeup.py): each group's commit notifies
# them of the order keys it stored, in the same statement, so only committed rows wake anyone.
_PG_INSERT = f"""
WITH stored AS (
INSERT INTO inbox (
    idem_key, order_key, op, payload, team_id, enterprise_id,
    state, attempts, fence, next_attempt_at, created_at
)
SELECT k, o, p, b, t, e, $7, 0, 0, $8, $8
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
    WITH ORDINALITY AS g(k, o, p, b, t, e, n)
ORDER BY n
ON CONFLICT (idem_key) DO UPDATE SET
    state = EXCLUDED.state, attempts = 0, next_attempt_at = EXCLUDED.next_attempt_at,
    lease_until = NULL, done_at = NULL, last_error = NULL, first_attempt_at = NULL
    WHERE inbox.state = 'failed'
RETURNING idem_key, order_key
)
SELECT idem_key, pg_notify('{INBOX_CHANNEL}', order_key) FROM stored
"""


class InboxWriter:
    """Adds groups of accepted requests to the inbox; returns the idempotency keys that were new."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, items: Sequence[NewItem], now: datetime) -> set[str]:
        """Store `items` in one atomic statement (a key twice in one group is stored once)."""
        first: dict[str, NewItem] = {}
        for item in items:
            first.setdefault(item.idem_key, item)
        items = list(first.values())
        if self.db.is_sqlite:
            rows = [
                {
                    "idem_key": i.idem_key,
                    "order_key": i.order_key,
                    "op": i.op,
                    "payload": i.payload,
                    "team_id": i.team_id,
                    "enterprise_id": i.enterprise_id,
                    "state": PENDING,
                    "attempts": 0,
                    "fence": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for i in items
            ]
            return await self.db.run(lambda conn: set(conn.execute(_SQLITE_INSERT, rows).scalars()))
        async with self.db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            found = await driver.fetch(
                _PG_INSERT,
                [i.idem_key for i in items],
                [i.order_key for i in items],
                [i.op for i in items],
                [i.payload for i in items],
                [i.team_id for i in items],
                [i.enterprise_id for i in items],
                PENDING,
                now,
            )
        return {r[0] for r in found}
