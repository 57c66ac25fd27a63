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
from services.workspaces import Workspaces
from web.session import SESSION_COOKIE, SESSION_TTL, STATE_COOKIE, STATE_TTL, Signer

log = logging.getLogger(__name__)

LOGIN, CALLBACK = "/ui/login", "/ui/auth/callback"


class SignIn:
    """The two sign-in routes and the session cookie they set."""

    def __init__(
        self, settings: Settings, workspaces: Workspaces, client: AsyncWebClient, signer: Signer
    ) -> None:
        self.settings, self.workspaces, self.client, self.signer = settings, workspaces, client, signer

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
        cookie = self.signer.dumps({"state": state, "nonce": nonce, "next": back}, STATE_TTL)
        self._cookie(request, response, STATE_COOKIE, cookie, STATE_TTL)
        raise response

    async def callback(self, request: web.Request) -> web.Response:
        """Slack sends the person back with a code: who are they, and is their workspace ours?"""
        pending = self.signer.loads(request.cookies.get(STATE_COOKIE))
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
        if not user or not team or await self.workspaces.get(Team(str(team))) is None:
            return _refused("incident-bot is not installed in your workspace.", 403)
        session = {"u": user, "t": team, "n": info.get("name") or user}
        response = web.HTTPFound(str(pending.get("next") or "/ui/"))
        self._cookie(request, response, SESSION_COOKIE, self.signer.dumps(session, SESSION_TTL), SESSION_TTL)
        response.del_cookie(STATE_COOKIE, path="/ui/")
        raise response


def _refused(text: str, status: int) -> web.Response:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Sign-in failed</title>"
        f"<link rel=stylesheet href=/ui/static/app.css><main><h1>Sign-in failed</h1><p>{text}</p>"
        '<p><a href="/ui/login">Sign in with Slack</a></p></main></html>'
    )
    return web.Response(text=body, status=status, content_type="text/html")
