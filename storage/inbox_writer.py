"""The inbox's write path, on the way to Slack's 200: one round trip per group of requests.

A group is one INSERT … ON CONFLICT DO NOTHING RETURNING, atomic by itself. On SQLite it runs as a
whole in a thread (one hand-over, not one per cursor call); on PostgreSQL it is one statement on the
driver's connection (no BEGIN/COMMIT round trips). Rows get their ids in the order of the group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import sqlite

from storage.db import Database
from storage.inbox import PENDING, NewItem
from storage.models import InboxItem

_t = InboxItem.__table__
_SQLITE_INSERT = sqlite.insert(_t).on_conflict_do_nothing().returning(_t.c.idem_key)
_PG_INSERT = """
INSERT INTO inbox (idem_key, order_key, op, payload, state, attempts, fence, next_attempt_at, created_at)
SELECT k, o, p, b, $5, 0, 0, $6, $6
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS g(k, o, p, b, n)
ORDER BY n
ON CONFLICT (idem_key) DO NOTHING
RETURNING idem_key
"""


class InboxWriter:
    """Adds groups of accepted requests to the inbox; returns the idempotency keys that were new."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, items: Sequence[NewItem], now: datetime) -> set[str]:
        """Store `items` in one atomic statement."""
        if self.db.is_sqlite:
            rows = [
                {
                    "idem_key": i.idem_key,
                    "order_key": i.order_key,
                    "op": i.op,
                    "payload": i.payload,
                    "state": PENDING,
                    "attempts": 0,
                    "fence": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for i in items
            ]
            async with self.db.writing():
                return await asyncio.to_thread(self._sqlite, rows)
        async with self.db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            found = await driver.fetch(
                _PG_INSERT,
                [i.idem_key for i in items],
                [i.order_key for i in items],
                [i.op for i in items],
                [i.payload for i in items],
                PENDING,
                now,
            )
        return {r[0] for r in found}

    def _sqlite(self, rows: list[dict[str, Any]]) -> set[str]:
        with self.db.sync_engine().begin() as conn:
            return set(conn.execute(_SQLITE_INSERT, rows).scalars())
