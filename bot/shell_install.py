"""`install <team>` in the shell: another emulated workspace with its own people, and the app
installed there through Slack's OAuth flow, as "Add to Slack" does."""

from __future__ import annotations

import re
import socket
from typing import Any

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.shell_content import TEAM
from config.settings import Settings
from slack_emulator import SlackDriver, SlackEmulator, Workspace


class InstallError(Exception):
    """A bad `install` or `workspace` line: shown as a one-line hint."""


TEAM_ID = re.compile(r"^T[A-Z0-9]{2,31}$")
CLIENT_ID, CLIENT_SECRET = "1000.shell", "shell-client-secret"
STATE_SECRET = "shell-state-secret"


def people_of(team: str, default: bool) -> dict[str, str]:
    """Each person's user id in a workspace: U0ALICE in the first, U<team>ALICE in the others."""
    prefix = "U0" if default else f"U{team[1:]}"
    return {name: f"{prefix}{name.upper()}" for name, _ in TEAM}


def add_workspace(emu: SlackEmulator, team: str) -> dict[str, str]:
    """A new workspace like the first one: the same four people, #incidents and #general."""
    ws = emu.add_workspace(team, re.sub(r"^T0*", "", team).title())
    people = people_of(team, default=False)
    for name, real in TEAM:
        ws.add_user(name, user_id=people[name], real_name=real)
    ws.add_channel("incidents", channel_id=f"C{team[1:]}INCIDENTS", members=[ws.bot_user_id])
    ws.add_channel("general", channel_id=f"C{team[1:]}GENERAL", members=[ws.bot_user_id])
    return people


def workspace_policy(base: dict[str, Any], team: str) -> dict[str, Any]:
    """The first workspace's policy with this workspace's people and announce channel."""
    ids = {people_of(team, default=True)[n]: people_of(team, default=False)[n] for n, _ in TEAM}

    def swap(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items() if k != "workspaces"}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return ids.get(value, value) if isinstance(value, str) else value

    return {**swap(base), "announce_channel": f"C{team[1:]}INCIDENTS"}


def oauth(settings: Settings, key: str, public_url: str) -> Settings:
    """The shell's settings installing with OAuth instead of one bot token."""
    return settings.model_copy(
        update={
            "slack_bot_token": None,
            "slack_client_id": CLIENT_ID,
            "slack_client_secret": SecretStr(CLIENT_SECRET),
            "slack_state_secret": SecretStr(STATE_SECRET),
            "incident_bot_encryption_key": SecretStr(key),
            "incident_bot_public_url": public_url,
        }
    )


def new_key() -> str:
    """An encryption key for the shell's throw-away installations."""
    return Fernet.generate_key().decode()


def free_port() -> int:
    """A port free now on 127.0.0.1 (the bot's redirect URL must be known before it listens)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class InstallCommands:
    """The shell's `install <team>` and `workspace <team>`, mixed into Shell: they use its emulator,
    its bot (stopped and started again with the new policy) and its current workspace."""

    emu: SlackEmulator
    ws: Workspace
    home: str
    settings: Settings
    policy: dict[str, Any]
    drivers: dict[str, SlackDriver]
    url: str
    users: dict[str, str]
    user: str
    channel: str

    async def _install(self, arg: str) -> None:
        """`install <team>`: a new workspace (or one already there), the app installed into it with
        OAuth, and the shell moved there. The first install moves the bot itself to OAuth."""
        team = arg.strip().upper()
        if not TEAM_ID.match(team):
            raise InstallError("usage: install <team id>, like install T0ACME")
        if team not in self.emu.workspaces:
            add_workspace(self.emu, team)
        if team != self.home:
            self.policy.setdefault("workspaces", {})[team] = workspace_policy(self.policy, team)
        first = not self.settings.oauth
        await self._stop_bot()
        if first:
            port = free_port()
            self.settings = oauth(self.settings, new_key(), f"http://127.0.0.1:{port}")
            await self._start_bot(port)
            await self._oauth_install(self.home)  # the first workspace, as before
        else:
            await self._start_bot(int(self.settings.incident_bot_public_url.rsplit(":", 1)[1]))
        await self._oauth_install(team)
        await self._workspace(team)

    async def _oauth_install(self, team: str) -> None:
        people = people_of(team, default=team == self.home)
        answer = await self.drivers[team].install(self.url + "/slack/install", user=people["alice"])
        if not answer.ok:
            raise InstallError(f"installing in {team} failed: HTTP {answer.status} {answer.body[:200]}")
        name = self.emu.workspace(team).team_name
        self._write(self._paint(f"(incident-bot is installed in {team} {name})", "dim"))

    async def _workspace(self, arg: str) -> None:
        """`workspace <team>`: act in another emulated workspace (as its alice, in its #general)."""
        team = arg.strip().upper()
        if team not in self.emu.workspaces:
            raise InstallError(f"no workspace {team or '?'}; `install <team>` makes one")
        self._flush()
        self.ws = self.emu.workspace(team)
        self.users = people_of(team, default=team == self.home)
        self.user, self.channel = self.users["alice"], self._channel_id("general")
        self._write(self._paint(f"(now in workspace {team}, as @alice in #general)", "dim"))
