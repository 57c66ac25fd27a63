"""Signed cookies: a session (who signed in, in which workspace) and the sign-in's state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

SESSION_COOKIE = "ib_session"
STATE_COOKIE = "ib_signin"
SESSION_TTL = 12 * 3600
STATE_TTL = 600


class Signer:
    """HMAC-SHA256 signed, expiring values: `<base64 JSON>.<signature>`."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"incident-bot web session\n" + secret.encode()).digest()

    def dumps(self, data: dict[str, Any], ttl: int, now: float | None = None) -> str:
        """The value to set, valid for `ttl` seconds."""
        body = {**data, "exp": int((now or time.time()) + ttl)}
        raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{raw}.{self._sign(raw)}"

    def loads(self, value: str | None, now: float | None = None) -> dict[str, Any] | None:
        """The data, when the signature holds and it has not expired; else None."""
        if not value or "." not in value:
            return None
        raw, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(raw)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (ValueError, TypeError):
            return None
        if not isinstance(data, dict) or data.get("exp", 0) < (now or time.time()):
            return None
        return data

    def _sign(self, raw: str) -> str:
        return hmac.new(self._key, raw.encode(), hashlib.sha256).hexdigest()
