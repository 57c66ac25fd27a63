"""The web view over HTTP: sign in with Slack through the emulator, the list and its filters, an
incident page, private incidents, the metrics page and the live panel's JSON."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import yarl

from config.settings import Settings
from tests.harness import Harness, team

CLIENT_ID, CLIENT_SECRET = "2222.web", "web-client-secret"
# slack_sdk sends openid.connect.token's client credentials with aiohttp's deprecated BasicAuth.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


class WebHarness(Harness):
    """The harness with the web view on (Sign in with Slack against the emulator)."""

    def settings(self) -> Settings:
        return (
            super()
            .settings()
            .model_copy(
                update={
                    "slack_client_id": CLIENT_ID,
                    "slack_client_secret": _secret(CLIENT_SECRET),
                    "incident_bot_session_secret": _secret("web-session-secret-of-at-least-32-bytes"),
                }
            )
        )


def _secret(value: str):  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    return SecretStr(value)


async def sign_in(h: Harness, user: str) -> aiohttp.ClientSession:
    """A browser-like session signed in as `user`, through the emulator's Sign in with Slack."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(h.url + "/ui/", allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"].startswith("/ui/login")
    async with session.get(h.url + resp.headers["Location"], allow_redirects=False) as resp:
        authorize = resp.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["scope"] == ["openid profile email"] and query["client_id"] == [CLIENT_ID]
    async with session.get(yarl.URL(authorize).update_query(user=user), allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        callback = resp.headers["Location"]
    async with session.get(callback, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        cookie = resp.headers.getall("Set-Cookie")
    assert any("HttpOnly" in c and "SameSite=Lax" in c for c in cookie), cookie
    return session


async def _text(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def test_sign_in_then_list_filter_and_read_an_incident(web_harness: WebHarness) -> None:
    h = web_harness
    team(h)
    first = await h.declare("sev1 Payments are down")
    await h.declare("sev3 Search is slow")
    await h.driver.say(h.alice, first, "rolled back 4.2")
    await h.command(h.alice, first, "note first note")
    await h.command(h.alice, first, "resolve Rolled back")
    session = await sign_in(h, h.alice)
    try:
        status, page = await _text(session, h.url + "/ui/")
        assert status == 200 and "Payments are down" in page and "Search is slow" in page
        _, sev1 = await _text(session, h.url + "/ui/?severity=SEV1")
        assert "Payments are down" in sev1 and "Search is slow" not in sev1
        _, found = await _text(session, h.url + "/ui/?q=search")
        assert "Search is slow" in found and "Payments are down" not in found
        _, resolved = await _text(session, h.url + "/ui/?status=resolved")
        assert "Payments are down" in resolved and "Search is slow" not in resolved

        status, incident = await _text(session, h.url + "/ui/incidents/1")
        assert status == 200 and "INC-1" in incident and "Rolled back" in incident
        entries = re.findall(r'<li class="entry" data-at="([^"]+)"', incident)
        assert len(entries) >= 3 and entries == sorted(entries), "the timeline in time order"
        assert "<h1>Postmortem: INC-1" in incident or "Postmortem: INC-1" in incident
        status, md = await _text(session, h.url + "/ui/incidents/1/postmortem.md")
        assert status == 200 and md.startswith("# Postmortem: INC-1")
        status, exported = await _text(session, h.url + "/ui/incidents/1/export.json")
        assert status == 200 and '"id": "INC-1"' in exported

        status, metrics = await _text(session, h.url + "/ui/metrics")
        weekly = metrics.split('id="weekly"', 1)[1].split("</figure>", 1)[0]
        assert status == 200 and weekly.count('class="mark"') == 2, "one bar per severity and week"
        mttr = metrics.split('id="mttr"', 1)[1].split("</figure>", 1)[0]
        assert re.findall(r'data-series="(SEV\d)"', mttr) == ["SEV1"], "only INC-1 is resolved"
        async with session.get(h.url + "/ui/live.json") as resp:
            live = await resp.json()
        assert [i["ref"] for i in live["open"]] == ["INC-2"]
    finally:
        await session.close()


async def test_private_incidents_only_for_their_members_and_nothing_without_a_session(
    web_harness: WebHarness,
) -> None:
    h = web_harness
    h.emu.add_user("carol", user_id="U0CAROL")
    await h.declare("--private sev1 Embargoed breach")
    async with aiohttp.ClientSession() as anonymous:
        for path in ("/ui/", "/ui/incidents/1", "/ui/metrics", "/ui/incidents/1/export.json"):
            status, _ = await _text(anonymous, h.url + path)
            assert status == 302, path
    alice, carol = await sign_in(h, h.alice), await sign_in(h, "U0CAROL")
    try:
        assert "Embargoed breach" in (await _text(alice, h.url + "/ui/"))[1]
        assert (await _text(alice, h.url + "/ui/incidents/1"))[0] == 200
        assert "Embargoed" not in (await _text(carol, h.url + "/ui/"))[1]
        assert (await _text(carol, h.url + "/ui/incidents/1"))[0] == 404
        assert (await _text(carol, h.url + "/ui/incidents/1/postmortem.md"))[0] == 404
    finally:
        await alice.close()
        await carol.close()


async def test_a_forged_session_cookie_is_refused(web_harness: WebHarness) -> None:
    h = web_harness
    session = await sign_in(h, h.alice)
    try:
        cookie = next(c for c in session.cookie_jar if c.key == "ib_session")
        raw, _, sig = cookie.value.rpartition(".")
        session.cookie_jar.update_cookies(
            {"ib_session": raw + "." + ("0" * len(sig))}, yarl.URL(h.url + "/ui/")
        )
        status, _ = await _text(session, h.url + "/ui/")
        assert status == 302
    finally:
        await session.close()
