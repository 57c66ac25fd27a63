"""Where bot tokens come from: one SLACK_BOT_TOKEN for one workspace, or the OAuth installations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from domain.workspace import Team
from runtime.clock import Clock
from storage.db import Database
from storage.installations import EncryptedInstallationStore, adopt_unowned_rows

log = logging.getLogger(__name__)

ASK_AGAIN = timedelta(seconds=30)  # after auth.test failed, how long due work waits to ask again


class SingleToken:
    """SLACK_BOT_TOKEN: one workspace, found with auth.test; the rows kept before workspaces
    existed become that workspace's."""

    def __init__(self, token: str, client: AsyncWebClient, db: Database, clock: Clock) -> None:
        self._token, self.client, self.db, self.clock = token, client, db, clock
        self._team: Team | None = None
        self._failed_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def team(self) -> Team | None:
        """The token's workspace; while Slack does not answer, None (asked again after a pause)."""
        if self._team is not None:
            return self._team
        if self._failed_at is not None and self.clock.now() - self._failed_at < ASK_AGAIN:
            return None
        return await self.check()

    async def check(self) -> Team | None:
        """Ask Slack now (auth.test) whose token this is; None when it does not say."""
        async with self._lock:
            if self._team is not None:
                return self._team
            try:
                found = await self.client.auth_test()
            except Exception as exc:
                # Not a warning: the start-up check and /readyz report Slack being away.
                log.debug("auth.test failed (%s): due work waits until Slack answers", exc)
                self._failed_at = self.clock.now()
                return None
            await self.known(found.data)
            return self._team

    async def known(self, answer: Mapping[str, Any]) -> None:
        """The token's workspace, from auth.test's answer: it adopts the rows from before workspaces."""
        if self._team is None:
            team = Team(str(answer["team_id"]), answer.get("enterprise_id") or None)
            moved = await adopt_unowned_rows(self.db, team.team_id)
            if moved:
                log.info("%d rows from before workspaces now belong to workspace %s", moved, team.team_id)
            self._team, self._failed_at = team, None

    async def token(self, team: Team) -> str | None:
        """The one token: Slack sends this app only the requests of the workspace it is in."""
        return self._token

    async def teams(self) -> list[Team]:
        """The token's workspace, once known."""
        team = await self.team()
        return [team] if team else []

    async def forget(self, team: Team) -> None:
        """Nothing to remove: the token is configured, not stored; Slack now refuses it."""
        log.error(
            "workspace %s revoked SLACK_BOT_TOKEN: install the app again and set the new token", team.team_id
        )


class InstalledTokens:
    """OAuth: each workspace's bot token from the installation store."""

    def __init__(self, store: EncryptedInstallationStore) -> None:
        self.store = store

    async def token(self, team: Team) -> str | None:
        """The newest bot token of the workspace (or of its organisation, for an org-wide install)."""
        bot = await self.store.async_find_bot(
            enterprise_id=team.enterprise_id,
            team_id=team.team_id,
            is_enterprise_install=team.is_enterprise_install,
        )
        return bot.bot_token if bot is not None else None

    async def teams(self) -> list[Team]:
        """Every workspace installed on its own, and each workspace of an org-wide install that has
        incidents (such an install names no workspace: its workspaces are known by their requests)."""
        teams: list[Team] = []
        for enterprise_id, team_id, org in await self.store.installed_teams():
            if not org and team_id:
                teams.append(Team(team_id, enterprise_id))
            elif org and enterprise_id:
                found = await self.store.teams_of_enterprise(enterprise_id)
                teams += [Team(each, enterprise_id, True) for each in found]
        return teams

    async def forget(self, team: Team) -> None:
        """Delete the workspace's (or, org-wide, the organisation's) installations, so its tokens."""
        team_id = None if team.is_enterprise_install else team.team_id
        await self.store.async_delete_all(enterprise_id=team.enterprise_id, team_id=team_id)
