"""Sign in with Slack against the emulator: the authorize page, openid.connect.token and .userInfo."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from tests.slack_spec import assert_emulator_ok

CLIENT_ID = "1234.5678"
CLIENT_SECRET = "openid-test-secret"
REDIRECT = "http://127.0.0.1:9/auth/slack/callback"
ALICE = "U0ACMEALICE"
START = 1_700_000_000.0
SLACK = "https://slack.com/"
IMAGE_SIZES = (24, 32, 48, 72, 192, 512, 1024)
# slack_sdk sends the client id and secret with aiohttp's BasicAuth, which aiohttp 3.14 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


class Clock:
    """The emulator's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A clock standing at START."""
    return Clock()


@pytest.fixture
async def emu(clock: Clock) -> AsyncIterator[SlackEmulator]:
    """A running emulator with the app registered and Acme Corp (alice and bob); calls checked at the end."""
    emulator = SlackEmulator(now=clock, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    acme = emulator.add_workspace("T0ACME", "Acme Corp")
    acme.add_user("alice", user_id=ALICE, real_name="Alice Liddell")
    acme.add_user("bob", user_id="U0ACMEBOB", real_name="Bob <b>Builder</b>")
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
    assert_emulator_ok(emulator)


async def get(url: str, **query: str) -> tuple[int, str | None, str]:
    """GET without following redirects: status, Location, body."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url, params=query, allow_redirects=False) as resp:
            return resp.status, resp.headers.get("Location"), await resp.text()


def asked(**query: str) -> dict[str, str]:
    """What a web view's "Sign in with Slack" link carries, with these changes."""
    base = {
        "response_type": "code",
        "scope": "openid profile email",
        "client_id": CLIENT_ID,
        "state": "st-1",
        "nonce": "n-1",
        "redirect_uri": REDIRECT,
    }
    return {**base, **query}


async def redirected(emu: SlackEmulator, **query: str) -> dict[str, list[str]]:
    """The query the authorize page sends the browser back to REDIRECT with."""
    status, location, body = await get(emu.openid_authorize_url, **asked(**query))
    assert status == 302, body
    assert location is not None and location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


async def sign_in(emu: SlackEmulator, **query: str) -> str:
    """The code the authorize page hands out for alice (unless `user` says otherwise)."""
    sent = await redirected(emu, **{"user": ALICE, **query})
    assert sent["state"] == [asked(**query)["state"]]
    return sent["code"][0]


def exchange(code: str) -> dict[str, Any]:
    """What the web view sends to openid.connect.token for a code."""
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": REDIRECT}


def jwt_part(token: str, index: int) -> dict[str, Any]:
    """One decoded JSON part of a compact JWT (0 header, 1 claims)."""
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def error_of(call: Any) -> str:
    """Await a client call that must fail and return Slack's error code."""
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


def avatar(size: int) -> str:
    """Alice's picture at one size."""
    return f"https://avatars.slack.test/{ALICE}_{size}.png"


def person(with_email: bool = True, with_profile: bool = True) -> dict[str, Any]:
    """What Slack tells of alice with these scopes."""
    claims: dict[str, Any] = {
        "sub": ALICE,
        SLACK + "user_id": ALICE,
        SLACK + "team_id": "T0ACME",
        SLACK + "team_name": "Acme Corp",
        SLACK + "team_domain": "acme-corp",
    }
    if with_email:
        claims |= {"email": "alice@acme-corp.slack.test", "email_verified": True}
        claims["date_email_verified"] = int(START)
    if with_profile:
        images = {
            f"{SLACK}user_image_{n}": f"https://avatars.slack.test/{ALICE}_{n}.png" for n in IMAGE_SIZES
        }
        claims |= {
            "name": "Alice Liddell",
            "picture": avatar(512),
            "given_name": "Alice",
            "family_name": "Liddell",
            "locale": "en-US",
            **images,
        }
    return claims


async def test_the_code_flow_signs_a_person_in(emu: SlackEmulator, clock: Clock) -> None:
    assert emu.openid_authorize_url == emu.url + "openid/connect/authorize"
    code = await sign_in(emu)  # no team: alice's own workspace
    clock.now += 5
    client = AsyncWebClient(base_url=emu.base_url)
    answer = await client.openid_connect_token(**exchange(code))
    token, id_token = answer["access_token"], answer["id_token"]
    assert answer.data == {"ok": True, "access_token": token, "token_type": "Bearer", "id_token": id_token}
    assert token.startswith(f"xoxp-T0ACME-{ALICE}-")

    assert jwt_part(id_token, 0) == {"alg": "HS256", "typ": "JWT"}
    at_hash = b64url(hashlib.sha256(token.encode()).digest()[:16])
    assert jwt_part(id_token, 1) == {
        "iss": "https://slack.com",
        "aud": CLIENT_ID,
        "exp": int(START) + 5 + 300,
        "iat": int(START) + 5,
        "auth_time": int(START),
        "nonce": "n-1",
        "at_hash": at_hash,
        **person(),
    }
    signed, _, signature = id_token.rpartition(".")
    expected = hmac.new(CLIENT_SECRET.encode(), signed.encode(), hashlib.sha256).digest()
    assert signature == b64url(expected)

    info = await AsyncWebClient(base_url=emu.base_url, token=token).openid_connect_userInfo()
    assert info.data == {"ok": True, **person()}

    [token_call] = emu.calls_to("openid.connect.token")
    [info_call] = emu.calls_to("openid.connect.userInfo")
    assert token_call.team == info_call.team == "T0ACME"
    assert "client_secret" not in token_call.params  # sent as Basic auth
    assert emu.calls_for("T0ACME") == [token_call, info_call]


async def test_a_code_is_single_use(emu: SlackEmulator) -> None:
    client = AsyncWebClient(base_url=emu.base_url)
    code = await sign_in(emu)
    assert (await client.openid_connect_token(**exchange(code)))["ok"]
    assert await error_of(client.openid_connect_token(**exchange(code))) == "invalid_code"


async def test_a_code_expires_after_ten_minutes(emu: SlackEmulator, clock: Clock) -> None:
    client = AsyncWebClient(base_url=emu.base_url)
    late, just_in_time = await sign_in(emu), await sign_in(emu)
    clock.now += 600
    assert (await client.openid_connect_token(**exchange(just_in_time)))["ok"]
    clock.now += 1
    assert await error_of(client.openid_connect_token(**exchange(late))) == "invalid_code"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "9999.1"}, "invalid_client_id"),
        ({"client_secret": "wrong"}, "bad_client_secret"),
        ({"code": "T0ACME.not-a-code"}, "invalid_code"),
        ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "bad_redirect_uri"),
        ({"redirect_uri": None}, "bad_redirect_uri"),
        ({"grant_type": "password"}, "invalid_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "xoxe-1-nope"}, "invalid_refresh_token"),
    ],
)
async def test_token_errors_leave_the_code_usable(
    emu: SlackEmulator, change: dict[str, Any], error: str
) -> None:
    good = exchange(await sign_in(emu))
    client = AsyncWebClient(base_url=emu.base_url)
    assert await error_of(client.openid_connect_token(**{**good, **change})) == error
    answer = await client.openid_connect_token(**good, grant_type="authorization_code")
    assert answer["ok"] and len(emu.openid.tokens) == 1


async def test_a_code_works_only_for_the_app_it_was_issued_to(emu: SlackEmulator) -> None:
    emu.register_app("4321.8765", "other-secret")
    code = await sign_in(emu)
    client = AsyncWebClient(base_url=emu.base_url)
    other = {**exchange(code), "client_id": "4321.8765", "client_secret": "other-secret"}
    assert await error_of(client.openid_connect_token(**other)) == "invalid_code"
    _, location, _ = await get(
        emu.authorize_url, client_id=CLIENT_ID, team="T0ACME", redirect_uri=REDIRECT, scope="commands"
    )
    install_code = parse_qs(urlsplit(location or "").query)["code"][0]
    assert await error_of(client.openid_connect_token(**exchange(install_code))) == "invalid_code"


async def test_credentials_may_come_as_form_fields(emu: SlackEmulator) -> None:
    form = exchange(await sign_in(emu, team="T0ACME", state=""))
    async with aiohttp.ClientSession() as http:
        async with http.post(emu.base_url + "openid.connect.token", data=form) as resp:
            answer = await resp.json()
    assert answer["ok"] and jwt_part(answer["id_token"], 1)["sub"] == ALICE
    assert emu.calls_to("openid.connect.token")[0].team == "T0ACME"


async def test_the_claims_follow_the_scopes_asked(emu: SlackEmulator) -> None:
    code = await sign_in(emu, scope="openid", nonce="")
    client = AsyncWebClient(base_url=emu.base_url)
    answer = await client.openid_connect_token(**exchange(code))
    claims = jwt_part(answer["id_token"], 1)
    assert "nonce" not in claims and "email" not in claims and "name" not in claims
    info = await AsyncWebClient(base_url=emu.base_url, token=answer["access_token"]).openid_connect_userInfo()
    assert info.data == {"ok": True, **person(with_email=False, with_profile=False)}
    code = await sign_in(emu, scope="openid,email")
    answer = await client.openid_connect_token(**exchange(code))
    assert jwt_part(answer["id_token"], 1)["email"] == "alice@acme-corp.slack.test"


async def test_user_info_takes_only_sign_in_tokens(emu: SlackEmulator) -> None:
    bot = AsyncWebClient(base_url=emu.base_url, token=emu.issue_token("T0ACME"))
    assert await error_of(bot.openid_connect_userInfo()) == "not_allowed_token_type"
    assert emu.calls_to("openid.connect.userInfo")[-1].team == "T0ACME"
    stranger = AsyncWebClient(base_url=emu.base_url, token="xoxp-nobody")
    assert await error_of(stranger.openid_connect_userInfo()) == "invalid_auth"
    assert emu.calls_to("openid.connect.userInfo")[-1].team is None
    answer = await AsyncWebClient(base_url=emu.base_url).openid_connect_token(**exchange(await sign_in(emu)))
    person_client = AsyncWebClient(base_url=emu.base_url, token=answer["access_token"])
    assert await error_of(person_client.auth_test()) == "missing_scope"  # good for userInfo only
    assert (await person_client.openid_connect_userInfo())["sub"] == ALICE


async def test_the_authorize_page_lets_a_person_pick_who_signs_in(emu: SlackEmulator) -> None:
    emu.add_workspace("T0RND", "R&D <Lab>")
    status, _, page = await get(emu.openid_authorize_url, **asked())
    assert status == 200
    assert "R&amp;D &lt;Lab&gt;" in page and "<Lab>" not in page
    assert "Bob &lt;b&gt;Builder&lt;/b&gt;" in page and "<b>" not in page
    assert f"user={ALICE}&amp;team=T0ACME" in page and "user=U0ACMEBOB&amp;team=T0ACME" in page
    assert "U0BOT" not in page  # bots cannot sign in
    assert "nonce=n-1" in page and "redirect_uri=http" in page  # each link is the same request plus who
    link = page.split('href="/openid/connect/authorize?')[1].split('"')[0]
    status, location, _ = await get(emu.url + "openid/connect/authorize?" + link.replace("&amp;", "&"))
    assert status == 302 and location is not None and location.startswith(REDIRECT + "?code=")

    status, _, page = await get(emu.openid_authorize_url, **asked(team="T0RND"))
    assert status == 200 and "Acme Corp" not in page and "Nobody to sign in as" in page


async def test_a_scope_without_openid_is_sent_back_as_an_error(emu: SlackEmulator) -> None:
    sent = await redirected(emu, scope="profile email", user=ALICE)
    assert sent == {"error": ["invalid_scope"], "state": ["st-1"]}
    assert await redirected(emu, response_type="token") == {
        "error": ["unsupported_response_type"],
        "state": ["st-1"],
    }
    assert emu.openid.codes == {}


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"client_id": "9999.1"}, "9999.1"),
        ({"redirect_uri": ""}, "redirect_uri"),
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"team": "T0NONE"}, "T0NONE"),
        ({"user": "U0NOBODY"}, "U0NOBODY"),
        ({"user": "U0BOTT0ACME"}, "U0BOTT0ACME"),
        ({"user": ALICE, "team": "T0EMU"}, ALICE),
    ],
)
async def test_the_authorize_page_refuses_bad_requests(
    emu: SlackEmulator, query: dict[str, str], needle: str
) -> None:
    status, location, page = await get(emu.openid_authorize_url, **asked(**query))
    assert (status, location) == (400, None)
    assert needle in page and emu.openid.codes == {}
