"""Sign in with Slack (OpenID Connect): to Slack's authorize page, back with a code, exchanged
for who the person is; only people of a workspace the bot is installed in get a session."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from config.settings import Settings
from domain.workspace import Team
from runtime.workspaces import Workspaces
from web.session import OAUTH_STATE, SESSION_COOKIE, SESSION_TTL, STATE_COOKIE, STATE_TTL, Sessions, Signer

log = logging.getLogger(__name__)

LOGIN, CALLBACK, LOGOUT = "/ui/login", "/ui/auth/callback", "/ui/logout"


class SignIn:
    """The sign-in and log-out routes and the session cookie they set."""

    def __init__(
        self,
        settings: Settings,
        workspaces: Workspaces,
        client: AsyncWebClient,
        signer: Signer,
        sessions: Sessions,
    ) -> None:
        self.settings, self.workspaces, self.client, self.signer = settings, workspaces, client, signer
        self.sessions = sessions

    def _base(self, request: web.Request) -> str:
        public = self.settings.incident_bot_public_url
        return public.rstrip("/") if public else f"{request.scheme}://{request.host}"

    def _secure(self, request: web.Request) -> bool:
        return self._base(request).startswith("https://")

    def _cookie(
        self, request: web.Request, response: web.StreamResponse, name: str, value: str, ttl: int
    ) -> None:
        """HttpOnly, SameSite=Lax, Secure behind https, for /ui/ only."""
        response.set_cookie(
            name, value, max_age=ttl, httponly=True, samesite="Lax", secure=self._secure(request), path="/ui/"
        )

    async def login(self, request: web.Request) -> web.Response:
        """Off to Slack's sign-in, remembering (signed) the state, the nonce and where to come back."""
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        back = request.query.get("next", "/ui/")
        back = back if back.startswith("/ui/") else "/ui/"
        query = {
            "response_type": "code",
            "scope": "openid profile email",
            "client_id": self.settings.slack_client_id or "",
            "redirect_uri": self._base(request) + CALLBACK,
            "state": state,
            "nonce": nonce,
        }
        response = web.HTTPFound(
            f"{self.settings.slack_page('/openid/connect/authorize')}?{urlencode(query)}"
        )
        cookie = self.signer.dumps(OAUTH_STATE, {"state": state, "nonce": nonce, "next": back}, STATE_TTL)
        self._cookie(request, response, STATE_COOKIE, cookie, STATE_TTL)
        raise response

    async def callback(self, request: web.Request) -> web.Response:
        """Slack sends the person back with a code: who are they, and is their workspace ours?"""
        pending = self.signer.loads(OAUTH_STATE, request.cookies.get(STATE_COOKIE))
        if pending is None or request.query.get("state") != pending.get("state"):
            return _refused("The sign-in expired or did not start here. Try again.", 400)
        if "code" not in request.query:
            return _refused(f"Slack did not sign you in ({request.query.get('error', 'no code')}).", 400)
        secret = self.settings.slack_client_secret
        try:
            token = await self.client.openid_connect_token(
                client_id=self.settings.slack_client_id or "",
                client_secret=secret.get_secret_value() if secret else "",
                code=request.query["code"],
                redirect_uri=self._base(request) + CALLBACK,
            )
            info = await self.client.openid_connect_userInfo(token=token["access_token"])
        except SlackApiError as exc:
            log.warning("sign-in with Slack failed: %s", exc.response.get("error"))
            return _refused("Slack did not confirm who you are. Try again.", 401)
        user, team = info.get("https://slack.com/user_id"), info.get("https://slack.com/team_id")
        if not isinstance(user, str) or not isinstance(team, str) or not await self._installed(team):
            log.warning("sign-in refused: workspace %r has not installed the app", team)
            return _refused("incident-bot is not installed in your workspace.", 403)
        cookie = await self.sessions.start(team, user, str(info.get("name") or user))
        response = web.HTTPFound(str(pending.get("next") or "/ui/"))
        self._cookie(request, response, SESSION_COOKIE, cookie, SESSION_TTL)
        response.del_cookie(STATE_COOKIE, path="/ui/")
        raise response

    async def confirm_logout(self, _request: web.Request) -> web.Response:
        """A GET signs nobody out (a link or image elsewhere could): it offers the button that POSTs."""
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Sign out</title>"
            "<link rel=stylesheet href=/ui/static/app.css><main><h1>Sign out</h1>"
            f'<form method=post action="{LOGOUT}">'
            "<button type=submit>Sign out of incident-bot</button></form>"
            "</main></html>"
        )
        return web.Response(text=body, content_type="text/html")

    async def logout(self, request: web.Request) -> web.Response:
        """End the session on the server (every copy of its cookie), forget the cookie, back to sign-in.
        A POST, which the Lax session cookie accompanies only from our own pages."""
        await self.sessions.end(request.cookies.get(SESSION_COOKIE))
        response = web.HTTPFound(LOGIN)
        response.del_cookie(SESSION_COOKIE, path="/ui/")
        raise response

    async def _installed(self, team_id: str) -> bool:
        """Whether the app is installed in `team_id`: with one bot token, only that token's workspace
        (auth.test's); with OAuth, a workspace with an installation. Builds nothing for any other."""
        tokens = self.workspaces.tokens
        if any(team.team_id == team_id for team in await tokens.teams()):
            return True
        return self.settings.oauth and await tokens.token(Team(team_id)) is not None


def _refused(text: str, status: int) -> web.Response:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Sign-in failed</title>"
        f"<link rel=stylesheet href=/ui/static/app.css><main><h1>Sign-in failed</h1><p>{text}</p>"
        '<p><a href="/ui/login">Sign in with Slack</a></p></main></html>'
    )
    return web.Response(text=body, status=status, content_type="text/html")
