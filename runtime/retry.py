"""When to try again: which failures are worth a retry, and how long to wait before it."""

from __future__ import annotations

import random
from datetime import timedelta

import aiohttp
import httpx
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from config.integrations import Delivery
from domain.workspace import NotInstalled
from runtime.slack_ops import SlackOpError


def is_transient(exc: BaseException) -> bool:
    """Slack's 5xx/429/internal errors, dropped connections, time-outs, a database that went away,
    was busy (no pooled connection in time) or rolled back a transaction (deadlock, serialisation)."""
    if isinstance(exc, SlackOpError):
        return exc.transient
    if isinstance(exc, PoolTimeout | NotInstalled):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        return isinstance(exc, OperationalError) or exc.connection_invalidated or sqlstate.startswith("40")
    return isinstance(
        exc, aiohttp.ClientError | httpx.TransportError | TimeoutError | ConnectionError | OSError
    )


def retry_delay(cfg: Delivery, attempts: int, exc: BaseException | None = None) -> timedelta:
    """Exponential backoff from `inbound_backoff` with ±50 % jitter, capped; Slack's Retry-After wins
    when it asks for longer."""
    base = min(cfg.inbound_backoff * (2 ** max(attempts - 1, 0)), cfg.inbound_max_backoff)
    wait = base * random.uniform(0.5, 1.5)
    asked = getattr(exc, "retry_after", None)
    if asked:
        wait = max(wait, timedelta(seconds=float(asked)))
    return wait
