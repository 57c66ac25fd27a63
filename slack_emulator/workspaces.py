"""Several workspaces in one emulator: adding them, the bot tokens acting in them, installs, uninstalls."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from slack_emulator.apibase import ApiError
from slack_emulator.state import Workspace

_TEAM_ID = re.compile(r"^T[A-Z0-9]+$")


@dataclass
class Token:
    """A bot token the emulator issued: the workspace it acts in, its scopes, and whether it was revoked."""

    value: str
    team_id: str
    scope: str = ""
    revoked: bool = False


def _domain(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workspace"


class MultiWorkspace:
    """SlackEmulator's workspaces: each by team id, and the tokens that act in them.

    The default workspace (`state`) is installed with `bot_token`; others start without the app.
    """

    state: Workspace
    calls: list[Any]
    workspaces: dict[str, Workspace]
    tokens: dict[str, Token]

    def _init_workspaces(self, bot_token: str) -> None:
        self.workspaces = {self.state.team_id: self.state}
        self.tokens = {bot_token: Token(bot_token, self.state.team_id)}

    def add_workspace(
        self,
        team_id: str,
        name: str,
        *,
        domain: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
    ) -> Workspace:
        """A new workspace with its own bot user; the app is installed there by OAuth or issue_token."""
        if not _TEAM_ID.match(team_id):
            raise ValueError(f"a team id looks like T0ACME, not {team_id!r}")
        if team_id in self.workspaces:
            raise ValueError(f"workspace {team_id} already exists")
        ws = Workspace(
            self.state.now,
            self.state.monotonic,
            team_id=team_id,
            team_name=name,
            domain=domain or _domain(name),
            enterprise_id=enterprise_id,
            enterprise_name=enterprise_name,
            bot_user_id=f"U0BOT{team_id}",
            bot_id=f"B0BOT{team_id}",
            ids=self.state.ids,
        )
        ws.installed = False
        ws.trigger_ttl = self.state.trigger_ttl
        ws.server_url = self.state.server_url
        ws.responses = self.state.responses  # one list, in the order the posts came, each naming its team
        self.workspaces[team_id] = ws
        return ws

    def workspace(self, team_id: str) -> Workspace:
        """The workspace with this team id (KeyError when there is none)."""
        try:
            return self.workspaces[team_id]
        except KeyError:
            raise KeyError(f"no workspace {team_id}") from None

    def workspace_of(self, record_id: str) -> Workspace:
        """The workspace holding a user, channel, user group, view or file id (KeyError when none does)."""
        for ws in self.workspaces.values():
            kinds = (ws.users, ws.channels, ws.usergroups, ws.views, ws.files)
            if any(record_id in records for records in kinds):
                return ws
        raise KeyError(f"no workspace has {record_id}")

    # tokens

    def issue_token(self, team_id: str, scope: str = "") -> str:
        """Install the app in a workspace and return a new bot token for it (earlier ones stay valid)."""
        ws = self.workspace(team_id)
        value = f"xoxb-{team_id}-{secrets.token_hex(12)}"
        self.tokens[value] = Token(value, team_id, scope)
        ws.installed = True
        return value

    def tokens_of(self, team_id: str) -> list[str]:
        """The workspace's bot tokens that still work, oldest first."""
        return [t.value for t in self.tokens.values() if t.team_id == team_id and not t.revoked]

    def uninstall(self, team_id: str) -> None:
        """Remove the app from a workspace: every token of it answers token_revoked from now on."""
        ws = self.workspace(team_id)
        for token in self.tokens.values():
            if token.team_id == team_id:
                token.revoked = True
        ws.installed = False

    def token_workspace(self, token: str) -> Workspace:
        """The workspace a token acts in; invalid_auth when unknown, token_revoked when revoked."""
        found = self.tokens.get(token)
        if found is None:
            raise ApiError("invalid_auth")
        if found.revoked:
            raise ApiError("token_revoked")
        return self.workspaces[found.team_id]

    def calls_for(self, team_id: str) -> list[Any]:
        """Recorded calls answered by one workspace (made with one of its tokens), oldest first."""
        return [c for c in self.calls if c.team == team_id]
