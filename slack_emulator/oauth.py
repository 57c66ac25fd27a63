"""OAuth v2 as Slack runs it: the authorize page hands out codes, oauth.v2.access trades them for tokens."""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from slack_emulator.apibase import ApiError
from slack_emulator.models import APP_ID
from slack_emulator.state import Workspace
from slack_emulator.webio import Credentials, html_page, with_query
from slack_emulator.workspaces import MultiWorkspace

ACCESS_METHOD = "oauth.v2.access"
AUTHORIZE_PATH = "/oauth/v2/authorize"
CODE_TTL = 600.0  # Slack's codes expire after ten minutes


@dataclass
class Grant:
    """A code the authorize page issued, bound to what was asked there."""

    code: str
    client_id: str
    team_id: str
    user_id: str
    scope: str
    user_scope: str
    redirect_uri: str
    issued_at: float
    used: bool = False


class OAuthProvider:
    """The registered app's credentials, the codes handed out, and both halves of the code flow."""

    def __init__(self, emu: MultiWorkspace) -> None:
        self.emu = emu
        self.apps: dict[str, str] = {}
        self.grants: dict[str, Grant] = {}
        self.code_ttl = CODE_TTL

    def register_app(self, client_id: str, client_secret: str) -> None:
        """Accept these credentials on the authorize page and in oauth.v2.access."""
        if not client_id or not client_secret:
            raise ValueError("an app needs a client id and a client secret")
        self.apps[client_id] = client_secret

    # the browser's half

    async def authorize(self, request: web.Request) -> web.Response:
        """GET /oauth/v2/authorize: with `team`, a code and a 302 to redirect_uri; else a workspace picker."""
        query = request.query
        client_id = query.get("client_id", "")
        if client_id not in self.apps:
            return html_page(400, "Unknown app", f"No app has the client_id {client_id!r}.")
        team = query.get("team")
        if not team:
            return self._picker(request)
        ws = self.emu.workspaces.get(team)
        if ws is None:
            return html_page(400, "Unknown workspace", f"There is no workspace {team!r}.")
        redirect_uri = query.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return html_page(400, "Bad redirect_uri", "The install link needs an http(s) redirect_uri.")
        user = query.get("user") or _installer(ws)
        if user not in ws.users or ws.users[user].is_bot:
            return html_page(400, "Unknown user", f"{team} has no person {user!r} to install the app.")
        code = f"{team}.{secrets.token_hex(16)}"
        self.grants[code] = Grant(
            code,
            client_id,
            team,
            user,
            query.get("scope", ""),
            query.get("user_scope", ""),
            redirect_uri,
            self.emu.state.now(),
        )
        location = with_query(redirect_uri, code=code, state=query.get("state", ""))
        return web.Response(status=302, headers={"Location": location})

    def _picker(self, request: web.Request) -> web.Response:
        items = "\n".join(
            f'<li><a href="{html.escape(str(request.rel_url.update_query(team=ws.team_id)))}">'
            f"{html.escape(ws.team_name)}</a> ({html.escape(ws.team_id)}, {html.escape(ws.domain)})</li>"
            for ws in self.emu.workspaces.values()
        )
        text = "Pick the workspace to install it in:"
        return html_page(200, "Install the app", text, f"<ul>\n{items}\n</ul>")

    # the app's half

    def access(self, params: dict[str, Any], who: Credentials) -> tuple[dict[str, Any], str]:
        """oauth.v2.access: trade a code for a bot token of its workspace; returns the answer and the team."""
        client_id = authenticate_app(self.apps, params, who)
        grant = self.grants.get(str(params.get("code") or ""))
        if (
            grant is None
            or grant.used
            or grant.client_id != client_id
            or self.emu.state.now() - grant.issued_at > self.code_ttl
        ):
            raise ApiError("invalid_code")
        if str(params.get("redirect_uri") or "") != grant.redirect_uri:
            raise ApiError("bad_redirect_uri")
        grant.used = True
        ws = self.emu.workspace(grant.team_id)
        token = self.emu.issue_token(ws.team_id, grant.scope)
        return {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": grant.user_id},
            "scope": grant.scope,
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": ws.bot_user_id,
            "team": {"id": ws.team_id, "name": ws.team_name},
            "enterprise": ws.enterprise,
            "is_enterprise_install": False,
        }, ws.team_id


def authenticate_app(apps: dict[str, str], params: dict[str, Any], who: Credentials) -> str:
    """The client id of a registered app whose secret came along (Basic auth or form fields)."""
    client_id = who.client_id or str(params.get("client_id") or "")
    secret = who.client_secret if who.client_id else str(params.get("client_secret") or "")
    if client_id not in apps:
        raise ApiError("invalid_client_id")
    if secret != apps[client_id]:
        raise ApiError("bad_client_secret")
    return client_id


def _installer(ws: Workspace) -> str:
    person = next((u.id for u in ws.users.values() if not u.is_bot), None)
    return person or ws.add_user("installer")
