"""What a page lets people's words do: no images or links from the text of a follow-up or a note, a
Content-Security-Policy and nosniff on every /ui/ response, and metrics counting only incidents the
viewer may see."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from tests.harness import team
from tests.web.test_browser import (
    _page,
    browser,  # noqa: F401 (the fixture)
)
from tests.web.test_web_view import WebHarness, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

BEACON = "http://127.0.0.1:42999/beacon.png"
EVIL = "https://evil.example/login"
INJECTED = f"![b]({BEACON}) [Re-login here]({EVIL})"
CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"


async def test_injected_markdown_renders_no_image_and_no_link(web_harness: WebHarness) -> None:
    h = web_harness
    team(h)
    channel = await h.declare(f"sev2 Checkout is down {INJECTED}")
    await h.command(h.alice, channel, f"followup <@{h.bob}|bob> +3d {INJECTED}")
    await h.command(h.alice, channel, f"note {INJECTED}")
    await h.command(h.alice, channel, f"resolve {INJECTED}")
    session = await sign_in(h, h.alice)
    try:
        async with session.get(h.url + "/ui/incidents/1") as resp:
            assert resp.status == 200
            page = await resp.text()
        async with session.get(h.url + "/ui/incidents/1/postmortem.md") as resp:
            md = await resp.text()
    finally:
        await session.close()
    draft = page.split('<article class="postmortem">', 1)[1].split("</article>", 1)[0]
    assert "Re-login here" in draft and draft.count("Re-login here") >= 4, "title, note, follow-up, summary"
    assert "<img" not in page
    assert not re.search(r"<a [^>]*href=\"[^\"]*(evil\.example|42999)", page), "no clickable evil link"
    assert "](" in md and "![b](" not in md and "[Re-login here](" not in md, "the download is escaped"


async def test_every_ui_response_carries_the_security_headers(web_harness: WebHarness) -> None:
    h = web_harness
    team(h)
    await h.declare("sev2 Checkout is down")
    session = await sign_in(h, h.alice)
    paths = (
        "/ui",
        "/ui/",
        "/ui/metrics",
        "/ui/services",
        "/ui/incidents/1",
        "/ui/incidents/99",
        "/ui/incidents/1/postmortem.md",
        "/ui/incidents/1/export.json",
        "/ui/live.json",
        "/ui/static/app.css",
        "/ui/static/nothing-here.js",
        "/ui/no-such-page",
        "/ui/login",
        "/ui/auth/callback?state=forged",
        "/ui/logout",
    )
    try:
        seen = {}
        for path in paths:
            async with session.get(h.url + path, allow_redirects=False) as resp:
                await resp.read()
                seen[path] = (
                    resp.status,
                    resp.headers.get("Content-Security-Policy"),
                    resp.headers.get("X-Content-Type-Options"),
                )
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.get(h.url + "/ui/", allow_redirects=False) as resp,
        ):
            seen["/ui/ anonymous"] = (
                resp.status,
                resp.headers.get("Content-Security-Policy"),
                resp.headers.get("X-Content-Type-Options"),
            )
            async with anonymous.get(h.url + "/healthz") as health:
                assert "Content-Security-Policy" not in health.headers, "only the web view's pages"
    finally:
        await session.close()
    assert {p: (csp, nosniff) for p, (_, csp, nosniff) in seen.items()} == {
        p: (CSP, "nosniff") for p in seen
    }, seen
    assert {seen[p][0] for p in ("/ui/incidents/99", "/ui/static/nothing-here.js", "/ui/no-such-page")} == {
        404
    }


async def test_metrics_count_only_the_incidents_the_viewer_may_see(web_harness: WebHarness) -> None:
    h = web_harness
    team(h)
    h.emu.add_user("carol", user_id="U0CAROL")
    await h.declare("sev3 Search is slow")
    secret = await h.declare("--private sev1 Embargoed breach")
    await h.command(h.alice, secret, "resolve Contained")
    alice, carol = await sign_in(h, h.alice), await sign_in(h, "U0CAROL")
    try:
        async with alice.get(h.url + "/ui/metrics") as resp:
            member = await resp.text()
        async with carol.get(h.url + "/ui/metrics") as resp:
            outsider = await resp.text()
    finally:
        await alice.close()
        await carol.close()

    def series(page: str, chart: str) -> list[str]:
        figure = page.split(f'id="{chart}"', 1)[1].split("</figure>", 1)[0]
        return sorted(re.findall(r'data-series="(SEV\d)"', figure))

    assert series(member, "weekly") == ["SEV1", "SEV3"] and series(member, "mttr") == ["SEV1"]
    assert series(outsider, "weekly") == ["SEV3"], "the private SEV1 is not counted for a non-member"
    assert series(outsider, "mttr") == [] and series(outsider, "mtta") == []
    assert "SEV1" not in outsider.split("<main>", 1)[1]


async def test_in_chromium_the_injected_text_loads_nothing_and_the_pages_work_under_the_policy(
    web_harness: WebHarness,
    browser: Any,  # noqa: F811 (the fixture imported above)
) -> None:
    h = web_harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, f"followup <@{h.bob}|bob> +3d {INJECTED}")
    await h.command(h.alice, channel, f"note {INJECTED}")
    page, problems = await _page(browser, h.url)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(h.url) else None)
    await page.goto(h.url + "/ui/")
    await page.get_by_role("link", name="alice").first.click()
    await page.wait_for_url(h.url + "/ui/")
    await page.wait_for_selector("#live li a")  # the page's script runs under the policy

    await page.goto(h.url + "/ui/incidents/1")
    assert await page.locator("article.postmortem").get_by_text("Re-login here").count() >= 2
    assert await page.locator("img").count() == 0
    assert await page.locator("a[href*='evil.example'], a[href*='42999']").count() == 0
    assert not [u for u in outside if "42999" in u or "evil.example" in u], outside

    await page.goto(h.url + "/ui/metrics")
    await page.select_option("select[name=days]", "30")
    await page.wait_for_url("**/ui/metrics?days=30")
    assert problems == [], problems
