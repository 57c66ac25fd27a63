"""The workspaces the bot serves: each one's services (its token, its policy, what is built on them),
built on first use, and forgotten when the app is uninstalled there."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from domain.workspace import Team

log = logging.getLogger(__name__)

T = TypeVar("T")
REFRESH = 30.0  # seconds a workspace's token is trusted before it is read again


class Tokens(Protocol):
    """Where bot tokens come from: one configured token, or the OAuth installations."""

    async def token(self, team: Team) -> str | None:
        """The bot token for `team`, or None when the app is not installed there."""

    async def teams(self) -> list[Team]:
        """Every workspace with a bot token: whose due work (pages, reminders, handoffs) runs."""

    async def forget(self, team: Team) -> None:
        """Remove `team`'s tokens (the app was uninstalled there, or its tokens revoked)."""


class Workspaces(Generic[T]):
    """What `build` makes of each installed workspace, built once and checked against the stored token
    every REFRESH seconds (another process, a web replica or the worker, may have seen a reinstall or
    an uninstall); a workspace without a token has none."""

    def __init__(
        self, tokens: Tokens, build: Callable[[Team, str], T], now: Callable[[], float] = time.monotonic
    ) -> None:
        self.tokens, self._build, self._now = tokens, build, now
        self._contexts: dict[str, tuple[str, T]] = {}  # team id → (token, context)
        self._checked: dict[str, float] = {}  # team id → when its token was last read
        self._lock = asyncio.Lock()

    async def get(self, team: Team) -> T | None:
        """The context of `team`, or None when the app is not installed there."""
        cached = self._contexts.get(team.team_id)
        if cached is not None and self._now() - self._checked.get(team.team_id, 0.0) < REFRESH:
            return cached[1]
        async with self._lock:
            try:
                token = await self.tokens.token(team)
            except Exception as exc:
                if cached is None:
                    raise
                # The store is unreachable for a moment: the token in hand is still the best guess.
                log.warning(
                    "workspace %s: could not read its token again (%s); using the one in hand",
                    team.team_id,
                    exc,
                )
                return cached[1]
            self._checked[team.team_id] = self._now()
            if token is None:
                self._contexts.pop(team.team_id, None)
                return None
            cached = self._contexts.get(team.team_id)
            if cached is None or cached[0] != token:
                cached = (token, self._build(team, token))
                self._contexts[team.team_id] = cached
            return cached[1]

    async def all(self) -> list[T]:
        """The context of every installed workspace."""
        contexts = [await self.get(team) for team in await self.tokens.teams()]
        return [ctx for ctx in contexts if ctx is not None]

    def cached(self) -> list[T]:
        """The contexts built so far (no lookup)."""
        return [ctx for _, ctx in self._contexts.values()]

    def installed(self, team: Team) -> None:
        """`team` was (re)installed: its next use reads the new token."""
        self._contexts.pop(team.team_id, None)

    async def uninstalled(self, team: Team, why: str) -> None:
        """The app is gone from `team`: drop its tokens; its rows stay for a reinstall to pick up."""
        self._contexts.pop(team.team_id, None)
        await self.tokens.forget(team)
        log.warning(
            "workspace %s: %s; its tokens are removed and its escalations stop until it is installed again",
            team.team_id,
            why,
        )
