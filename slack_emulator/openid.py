"""Sign in with Slack (OpenID Connect): its authorize page, openid.connect.token, openid.connect.userInfo."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from slack_emulator.apibase import ApiError, Result
from slack_emulator.models import User
from slack_emulator.oauth import CODE_TTL, authenticate_app
from slack_emulator.state import Workspace
from slack_emulator.webio import Credentials, html_page, with_query
from slack_emulator.workspaces import MultiWorkspace

AUTHORIZE_PATH = "/openid/connect/authorize"
TOKEN_METHOD = "openid.connect.token"
USERINFO_METHOD = "openid.connect.userInfo"
ISSUER = "https://slack.com"
ID_TOKEN_TTL = 300  # Slack's id_tokens expire five minutes after they are issued
IMAGE_SIZES = (24, 32, 48, 72, 192, 512, 1024)
_SLACK = "https://slack.com/"


@dataclass
class SignIn:
    """A code the authorize page issued to one person, bound to what was asked there."""

    code: str
    client_id: str
    team_id: str
    user_id: str
    redirect_uri: str
    nonce: str | None
    scope: frozenset[str]
    issued_at: float
    used: bool = False


@dataclass
class UserToken:
    """An xoxp token openid.connect.token handed out; it reads openid.connect.userInfo and nothing else."""

    value: str
    client_id: str
    team_id: str
    user_id: str
    scope: frozenset[str]
    auth_time: float


def scopes(text: str) -> frozenset[str]:
    """The scopes of a `scope` argument (OpenID separates them with spaces, Slack also takes commas)."""
    return frozenset(s for s in re.split(r"[\s,]+", text) if s)


def encode_id_token(claims: dict[str, Any], secret: str) -> str:
    """A compact JWT of the claims, signed HS256 with the app's client secret."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class OpenIDProvider:
    """Sign in with Slack for the registered apps: codes handed out, the user tokens they became."""

    def __init__(self, emu: MultiWorkspace, apps: dict[str, str]) -> None:
        self.emu = emu
        self.apps = apps  # shared with OAuth: register_app covers both flows
        self.codes: dict[str, SignIn] = {}
        self.tokens: dict[str, UserToken] = {}
        self.code_ttl = CODE_TTL
        self.email_verified_at = int(emu.state.now())

    # the browser's half

    async def authorize(self, request: web.Request) -> web.Response:
        """GET /openid/connect/authorize: given `user`, a code and a 302 to redirect_uri; else a picker."""
        query = request.query
        client_id = query.get("client_id", "")
        if client_id not in self.apps:
            return html_page(400, "Unknown app", f"No app has the client_id {client_id!r}.")
        redirect_uri = query.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return html_page(400, "Bad redirect_uri", "Sign in with Slack needs an http(s) redirect_uri.")
        state = query.get("state", "")
        response_type = query.get("response_type", "")
        if response_type != "code":
            error = "unsupported_response_type" if response_type else "invalid_request"
            return _redirect(redirect_uri, error=error, state=state)
        scope = scopes(query.get("scope", ""))
        if "openid" not in scope:
            return _redirect(redirect_uri, error="invalid_scope", state=state)
        team = query.get("team") or None
        if team is not None and team not in self.emu.workspaces:
            return html_page(400, "Unknown workspace", f"There is no workspace {team!r}.")
        user = query.get("user")
        if not user:
            return self._picker(request, team)
        ws = self._home(user, team)
        if ws is None:
            where = team or "No workspace"
            return html_page(400, "Unknown user", f"{where} has no person {user!r} to sign in.")
        code = f"{ws.team_id}.{secrets.token_hex(16)}"
        nonce = query.get("nonce") or None
        now = self.emu.state.now()
        self.codes[code] = SignIn(code, client_id, ws.team_id, user, redirect_uri, nonce, scope, now)
        return _redirect(redirect_uri, code=code, state=state)

    def _home(self, user: str, team: str | None) -> Workspace | None:
        """The workspace where `user` is a person (in `team` when given), or None."""
        try:
            ws = self.emu.workspaces[team] if team else self.emu.workspace_of(user)
        except KeyError:
            return None
        person = ws.users.get(user)
        return ws if person is not None and not person.is_bot else None

    def _picker(self, request: web.Request, team: str | None) -> web.Response:
        sections = []
        for ws in self.emu.workspaces.values():
            if team is not None and ws.team_id != team:
                continue
            people = [u for u in ws.users.values() if not u.is_bot]
            items = "\n".join(
                f'<li><a href="{html.escape(str(request.rel_url.update_query(user=u.id, team=ws.team_id)))}">'
                f"{html.escape(u.real_name)}</a> (@{html.escape(u.name)}, {html.escape(u.id)})</li>"
                for u in people
            )
            sections.append(
                f"<h2>{html.escape(ws.team_name)} ({html.escape(ws.team_id)}, "
                f"{html.escape(ws.domain)})</h2>\n"
                + (f"<ul>\n{items}\n</ul>\n" if people else "<p>Nobody to sign in as.</p>\n")
            )
        return html_page(200, "Sign in with Slack", "Pick who signs in:", "".join(sections))

    # the app's half

    def token(self, params: dict[str, Any], who: Credentials) -> tuple[Result, str | None]:
        """openid.connect.token: a code for a user token and an id_token; returns the answer and the team."""
        client_id = authenticate_app(self.apps, params, who)
        grant_type = str(params.get("grant_type") or "authorization_code")
        if grant_type == "refresh_token":
            raise ApiError("invalid_refresh_token")  # no token rotation here: no refresh token is ever issued
        if grant_type != "authorization_code":
            raise ApiError("invalid_grant_type")
        sign_in = self.codes.get(str(params.get("code") or ""))
        now = self.emu.state.now()
        if (
            sign_in is None
            or sign_in.used
            or sign_in.client_id != client_id
            or now - sign_in.issued_at > self.code_ttl
        ):
            raise ApiError("invalid_code")
        if str(params.get("redirect_uri") or "") != sign_in.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}, sign_in.team_id
        sign_in.used = True
        ws = self.emu.workspace(sign_in.team_id)
        value = f"xoxp-{ws.team_id}-{sign_in.user_id}-{secrets.token_hex(12)}"
        self.tokens[value] = UserToken(
            value, client_id, ws.team_id, sign_in.user_id, sign_in.scope, sign_in.issued_at
        )
        issued = int(now)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": sign_in.user_id,
            "aud": client_id,
            "exp": issued + ID_TOKEN_TTL,
            "iat": issued,
            "auth_time": int(sign_in.issued_at),
        }
        if sign_in.nonce is not None:
            claims["nonce"] = sign_in.nonce
        claims["at_hash"] = _b64(hashlib.sha256(value.encode()).digest()[:16])
        claims.update(self.claims(ws, ws.users[sign_in.user_id], sign_in.scope))
        id_token = encode_id_token(claims, self.apps[client_id])
        return {"ok": True, "access_token": value, "token_type": "Bearer", "id_token": id_token}, ws.team_id

    def user_info(self, params: dict[str, Any], who: Credentials) -> tuple[Result, str | None]:
        """openid.connect.userInfo: who signed in with this token, as the scopes asked allow."""
        if not who.token:
            raise ApiError("not_authed")
        found = self.tokens.get(who.token)
        if found is None:
            bot = self.emu.tokens.get(who.token)
            if bot is None:
                raise ApiError("invalid_auth")
            if bot.revoked:
                raise ApiError("token_revoked")
            return {"ok": False, "error": "not_allowed_token_type"}, bot.team_id
        ws = self.emu.workspace(found.team_id)
        return {"ok": True, **self.claims(ws, ws.users[found.user_id], found.scope)}, ws.team_id

    def refusal(self, token: str) -> tuple[Result, str] | None:
        """The answer any other method gives a Sign in with Slack token (it lacks their scopes), else None."""
        found = self.tokens.get(token)
        if found is None:
            return None
        provided = ",".join(sorted(found.scope))
        return {"ok": False, "error": "missing_scope", "provided": provided}, found.team_id

    def claims(self, ws: Workspace, user: User, scope: frozenset[str]) -> dict[str, Any]:
        """What Slack tells of a person: ids and team always, email and profile if those scopes were asked."""
        out: dict[str, Any] = {
            "sub": user.id,
            _SLACK + "user_id": user.id,
            _SLACK + "team_id": ws.team_id,
            _SLACK + "team_name": ws.team_name,
            _SLACK + "team_domain": ws.domain,
        }
        if ws.enterprise_id:
            out[_SLACK + "enterprise_id"] = ws.enterprise_id
            out[_SLACK + "enterprise_name"] = ws.enterprise_name or ws.enterprise_id
        if "email" in scope:
            out["email"] = user.to_slack()["profile"].get("email") or f"{user.name}@{ws.domain}.example"
            out["email_verified"] = True
            out["date_email_verified"] = self.email_verified_at
        if "profile" in scope:
            given, _, family = user.real_name.partition(" ")
            out["name"] = user.real_name
            out["picture"] = _image(user, 512)
            out["given_name"] = given
            out["family_name"] = family
            out["locale"] = "en-US"
            out.update({f"{_SLACK}user_image_{size}": _image(user, size) for size in IMAGE_SIZES})
        return out


def _image(user: User, size: int) -> str:
    return f"https://avatars.slack.test/{user.id}_{size}.png"


def _redirect(url: str, **fields: str) -> web.Response:
    return web.Response(status=302, headers={"Location": with_query(url, **fields)})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
