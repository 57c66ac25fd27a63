"""Web view sessions: only the installed workspace signs in, logging out ends the session on the
server, a cookie signed for one purpose is not another, and a short session secret stops `serve`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import pytest
import yarl
from pydantic import SecretStr

from config.settings import Settings
from tests.bot.test_workspaces import ALPHA, BRAVO, Installed
from tests.web.test_web_view import CLIENT_ID, WebHarness, sign_in
from web.session import Signer

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


async def _status(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", "")


def _cookie(session: aiohttp.ClientSession, name: str) -> str:
    return next(c.value for c in session.cookie_jar if c.key == name)


async def test_a_person_of_a_workspace_without_the_app_gets_no_session(web_harness: WebHarness) -> None:
    h = web_harness
    other = h.emu.add_workspace("T0OTHER", "Other Corp")
    mallory = other.add_user("mallory", user_id="U0MALLORY")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.get(h.url + "/ui/login", allow_redirects=False) as resp:
            authorize = resp.headers["Location"]
        url = yarl.URL(authorize).update_query(user=mallory, team="T0OTHER")
        async with s.get(url, allow_redirects=False) as resp:
            callback = resp.headers["Location"]
        async with s.get(callback, allow_redirects=False) as resp:
            assert resp.status == 403 and "not installed" in await resp.text()
        assert "ib_session" not in {c.key for c in s.cookie_jar}
        assert (await _status(s, h.url + "/ui/"))[0] == 302
    assert "T0OTHER" not in [ctx.team.team_id for ctx in h.bot.workspaces.cached()], (
        "nothing is built for a workspace the app is not installed in"
    )
    # The installed workspace's people still sign in.
    alice = await sign_in(h, h.alice)
    try:
        assert (await _status(alice, h.url + "/ui/"))[0] == 200
    finally:
        await alice.close()


class InstalledWithWebView(Installed):
    """OAuth mode (two workspaces in the emulator) with the web view on."""

    def settings(self) -> Settings:
        secret = {"incident_bot_session_secret": SecretStr("oauth-web-session-secret-of-32-bytes")}
        return super().settings().model_copy(update=secret)


async def _sign_in_status(url: str, user: str, team: str) -> tuple[int, set[str]]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.get(url + "/ui/login", allow_redirects=False) as resp:
            authorize = resp.headers["Location"]
        async with s.get(
            yarl.URL(authorize).update_query(user=user, team=team), allow_redirects=False
        ) as resp:
            callback = resp.headers["Location"]
        async with s.get(callback, allow_redirects=False) as resp:
            return resp.status, {c.key for c in s.cookie_jar}


async def test_with_oauth_only_people_of_an_installed_workspace_sign_in(database_url: str) -> None:
    i = await InstalledWithWebView(database_url).start()
    try:
        await i.install(ALPHA)
        assert await _sign_in_status(i.url, i.people[BRAVO]["alice"], BRAVO) == (403, {"ib_signin"})
        assert BRAVO not in [ctx.team.team_id for ctx in i.bot.workspaces.cached()]
        status, cookies = await _sign_in_status(i.url, i.people[ALPHA]["alice"], ALPHA)
        assert status == 302 and "ib_session" in cookies
    finally:
        await i.stop()


async def test_logging_out_ends_the_session_for_every_copy_of_the_cookie(web_harness: WebHarness) -> None:
    h = web_harness
    session = await sign_in(h, h.alice)
    stolen = _cookie(session, "ib_session")
    try:
        assert (await _status(session, h.url + "/ui/"))[0] == 200
        # A GET (a link or an image on another site) signs nobody out: it only offers the button.
        async with session.get(h.url + "/ui/logout", allow_redirects=False) as resp:
            assert resp.status == 200 and 'method=post action="/ui/logout"' in await resp.text()
        assert (await _status(session, h.url + "/ui/"))[0] == 200, "still signed in after the GET"
        async with session.post(h.url + "/ui/logout", allow_redirects=False) as resp:
            assert (resp.status, resp.headers.get("Location")) == (302, "/ui/login")
    finally:
        await session.close()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as replay:
        replay.cookie_jar.update_cookies({"ib_session": stolen}, yarl.URL(h.url + "/ui/"))
        status, where = await _status(replay, h.url + "/ui/")
        assert status == 302 and where.startswith("/ui/login"), "the old cookie no longer works"
    again = await sign_in(h, h.alice)
    try:
        assert (await _status(again, h.url + "/ui/"))[0] == 200, "signing in again works"
    finally:
        await again.close()


async def test_a_state_cookie_or_garbage_as_the_session_means_not_signed_in(web_harness: WebHarness) -> None:
    h = web_harness
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.get(h.url + "/ui/login", allow_redirects=False) as resp:
            assert resp.status == 302
        state = _cookie(s, "ib_signin")
    for value in (state, "x.y", ".", "é.é", "%%%.abc", "e30." + "0" * 64, "a" * 5000):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            s.cookie_jar.update_cookies({"ib_session": value}, yarl.URL(h.url + "/ui/"))
            for path in ("/ui/", "/ui/incidents/1", "/ui/live.json"):
                status, where = await _status(s, h.url + path)
                assert status == 302 and where.startswith("/ui/login"), (value[:20], path, status)


def test_a_value_signed_for_one_purpose_is_not_valid_for_another() -> None:
    signer = Signer("k" * 32)
    value = signer.dumps("oauth-state", {"state": "x"}, 60)
    assert (signer.loads("oauth-state", value) or {}).get("state") == "x"
    assert signer.loads("session", value) is None
    assert signer.loads("session", "é.é") is None
    with pytest.raises(ValueError, match="32 bytes"):
        Signer("s")


async def test_serve_refuses_a_short_session_secret_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOG_", "INCIDENT_BOT_"))}
    env.pop("DATABASE_URL", None)
    env |= {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "signing",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": "client-secret",
        "INCIDENT_BOT_SESSION_SECRET": "s",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--http", "--port", "0",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail("serve started with a one-byte session secret")
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, lines
    assert "INCIDENT_BOT_SESSION_SECRET" in lines[0] and "32" in lines[0]
