"""Signed cookies (each value signed for one purpose), and the sessions they name: a random id whose
row on the server says who signed in; logging out deletes the row, so every copy of the cookie ends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.db import Database
from storage.web_sessions import WebSessionRepo

SESSION_COOKIE = "ib_session"
STATE_COOKIE = "ib_signin"
SESSION_TTL = 12 * 3600
STATE_TTL = 600
SESSION, OAUTH_STATE = "session", "oauth-state"  # purposes: a value signed for one is not the other
MIN_SECRET_BYTES = 32
_MAX_VALUE = 4096


class Signer:
    """HMAC-SHA256 signed, expiring values: `<base64 JSON>.<signature>`, the purpose in the MAC."""

    def __init__(self, secret: str) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the session secret must be at least {MIN_SECRET_BYTES} bytes")
        self._key = hashlib.sha256(b"incident-bot web session\n" + secret.encode()).digest()

    def dumps(self, purpose: str, data: dict[str, Any], ttl: int, now: float | None = None) -> str:
        """The value to set for `purpose`, valid for `ttl` seconds."""
        body = {**data, "exp": int((now or time.time()) + ttl)}
        raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{raw}.{self._sign(purpose, raw)}"

    def loads(self, purpose: str, value: str | None, now: float | None = None) -> dict[str, Any] | None:
        """The data, when it was signed for `purpose` and has not expired; else None (never raises)."""
        if not value or len(value) > _MAX_VALUE or not value.isascii() or "." not in value:
            return None
        raw, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(purpose, raw).encode()):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
            return None
        return data if data["exp"] >= (now or time.time()) else None

    def _sign(self, purpose: str, raw: str) -> str:
        return hmac.new(self._key, f"{purpose}\n{raw}".encode(), hashlib.sha256).hexdigest()


class Sessions:
    """Web view sessions kept on the server, named by a signed random id in the cookie."""

    def __init__(
        self, db: Database, signer: Signer, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.db, self.signer, self.now = db, signer, now

    async def start(self, team_id: str, user_id: str, name: str) -> str:
        """A new session (expired ones are pruned); the cookie's value."""
        sid, now = secrets.token_urlsafe(32), self.now()
        async with self.db.session() as s:
            repo = WebSessionRepo(s)
            await repo.prune(now)
            await repo.add(_key(sid), team_id, user_id, name[:200], now, now + timedelta(seconds=SESSION_TTL))
        return self.signer.dumps(SESSION, {"s": sid}, SESSION_TTL)

    async def who(self, cookie: str | None) -> dict[str, str] | None:
        """{"u": user, "t": team, "n": name} of a live session, else None."""
        sid = (self.signer.loads(SESSION, cookie) or {}).get("s")
        if not isinstance(sid, str):
            return None
        async with self.db.session() as s:
            row = await WebSessionRepo(s).get(_key(sid), self.now())
            return {"u": row.user_id, "t": row.team_id, "n": row.name} if row else None

    async def end(self, cookie: str | None) -> None:
        """Log out: the session's row goes, so no copy of the cookie works any more."""
        sid = (self.signer.loads(SESSION, cookie) or {}).get("s")
        if isinstance(sid, str):
            async with self.db.session() as s:
                await WebSessionRepo(s).end(_key(sid))


def _key(sid: str) -> str:
    """What the database keeps: a stolen copy of the table opens no session."""
    return hashlib.sha256(sid.encode()).hexdigest()
