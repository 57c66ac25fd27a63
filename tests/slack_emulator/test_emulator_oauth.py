"""OAuth v2 against the emulator: the authorize page, oauth.v2.access through slack_sdk, and its errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from slack_emulator.state import Workspace
from tests.slack_spec import assert_emulator_ok

CLIENT_ID = "1234.5678"
CLIENT_SECRET = "oauth-test-secret"
REDIRECT = "http://127.0.0.1:9/slack/oauth_redirect"
# slack_sdk sends the client id and secret with aiohttp's BasicAuth, which aiohttp 3.14 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
SCOPES = "chat:write,commands,channels:manage"


@pytest.fixture
def acme(emulator: SlackEmulator) -> Workspace:
    """The app registered, and a second workspace (not installed) with one person."""
    emulator.register_app(CLIENT_ID, CLIENT_SECRET)
    ws = emulator.add_workspace("T0ACME", "Acme Corp")
    ws.add_user("alice", user_id="U0ACMEALICE")
    return ws


async def get(url: str, **query: str) -> tuple[int, str | None, str]:
    """GET without following redirects: status, Location, body."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url, params=query, allow_redirects=False) as resp:
            return resp.status, resp.headers.get("Location"), await resp.text()


async def authorize(emu: SlackEmulator, **query: str) -> str:
    """The code the authorize page hands out (via its 302 to the redirect_uri)."""
    asked = {
        "client_id": CLIENT_ID,
        "scope": SCOPES,
        "user_scope": "",
        "state": "s-1",
        "redirect_uri": REDIRECT,
    }
    status, location, body = await get(emu.authorize_url, **{**asked, **query})
    assert status == 302, body
    assert location is not None and location.startswith(REDIRECT + "?")
    sent = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert sent["state"] == [asked["state"] if "state" not in query else query["state"]]
    return sent["code"][0]


def credentials(code: str) -> dict[str, Any]:
    """What the app sends to oauth.v2.access for a code."""
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": REDIRECT}


async def error_of(call: Any) -> str:
    """Await a client call that must fail and return Slack's error code."""
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


async def test_the_code_flow_installs_the_app_in_the_chosen_workspace(
    emulator: SlackEmulator, acme: Workspace
) -> None:
    code = await authorize(emulator, team="T0ACME")
    client = AsyncWebClient(base_url=emulator.base_url)
    answer = await client.oauth_v2_access(**credentials(code))
    token = answer["access_token"]
    assert answer.data == {
        "ok": True,
        "app_id": "A0EMU",
        "authed_user": {"id": "U0ACMEALICE"},
        "scope": SCOPES,
        "token_type": "bot",
        "access_token": token,
        "bot_user_id": acme.bot_user_id,
        "team": {"id": "T0ACME", "name": "Acme Corp"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    assert token.startswith("xoxb-T0ACME-") and acme.installed and emulator.tokens_of("T0ACME") == [token]
    identity = await client.auth_test(token=token)  # what Bolt asks next, for the bot id
    assert (identity["team_id"], identity["bot_id"]) == ("T0ACME", acme.bot_id)
    [access] = emulator.calls_to("oauth.v2.access")
    assert access.team == "T0ACME" and "client_secret" not in access.params  # sent as Basic auth
    assert await error_of(client.oauth_v2_access(**credentials(code))) == "invalid_code"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "9999.1"}, "invalid_client_id"),
        ({"client_secret": "wrong"}, "bad_client_secret"),
        ({"code": "T0ACME.not-a-code"}, "invalid_code"),
        ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "bad_redirect_uri"),
        ({"redirect_uri": None}, "bad_redirect_uri"),
    ],
)
async def test_access_errors_leave_the_code_usable(
    emulator: SlackEmulator, acme: Workspace, change: dict[str, Any], error: str
) -> None:
    good = credentials(await authorize(emulator, team="T0ACME"))
    client = AsyncWebClient(base_url=emulator.base_url)
    assert await error_of(client.oauth_v2_access(**{**good, **change})) == error
    assert not acme.installed and emulator.tokens_of("T0ACME") == []
    assert (await client.oauth_v2_access(**good))["ok"]


async def test_credentials_may_come_as_form_fields(emulator: SlackEmulator, acme: Workspace) -> None:
    code = await authorize(emulator, team="T0ACME", user="U0ACMEALICE", state="")
    form = credentials(code)
    async with aiohttp.ClientSession() as http:
        async with http.post(emulator.base_url + "oauth.v2.access", data=form) as resp:
            answer = await resp.json()
    assert answer["ok"] and answer["team"]["id"] == "T0ACME" and answer["authed_user"]["id"] == "U0ACMEALICE"


async def test_a_code_expires_after_ten_minutes() -> None:
    clock = [1_000_000.0]
    emu = SlackEmulator(now=lambda: clock[0], client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with emu:
        emu.add_workspace("T0ACME", "Acme Corp")
        client = AsyncWebClient(base_url=emu.base_url)
        code = await authorize(emu, team="T0ACME")
        clock[0] += 601
        assert await error_of(client.oauth_v2_access(**credentials(code))) == "invalid_code"
    people = [u.name for u in emu.workspace("T0ACME").users.values() if not u.is_bot]
    assert people == ["installer"]  # nobody was there to install it: one was made
    assert_emulator_ok(emu)


async def test_the_authorize_page_lets_a_person_pick_a_workspace(
    emulator: SlackEmulator, acme: Workspace
) -> None:
    emulator.add_workspace("T0RND", "R&D <Lab>")
    status, _, page = await get(
        emulator.authorize_url, client_id=CLIENT_ID, scope=SCOPES, redirect_uri=REDIRECT
    )
    assert status == 200
    assert "R&amp;D &lt;Lab&gt;" in page and "<Lab>" not in page
    for team in ("T0EMU", "T0ACME", "T0RND"):
        assert f"team={team}" in page
    assert "redirect_uri=http" in page and "&amp;" in page  # each link is the same request plus team


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"client_id": "9999.1", "team": "T0ACME"}, "client_id"),
        ({"team": "T0NONE"}, "T0NONE"),
        ({"team": "T0ACME", "redirect_uri": ""}, "redirect_uri"),
        ({"team": "T0ACME", "user": "U0BOT"}, "U0BOT"),
        ({"team": "T0ACME", "user": "U0BOTT0ACME"}, "U0BOTT0ACME"),
    ],
)
async def test_the_authorize_page_refuses_bad_requests(
    emulator: SlackEmulator, acme: Workspace, query: dict[str, str], needle: str
) -> None:
    asked = {"client_id": CLIENT_ID, "scope": SCOPES, "redirect_uri": REDIRECT, **query}
    status, location, page = await get(emulator.authorize_url, **asked)
    assert (status, location) == (400, None)
    assert needle in page and not acme.installed
