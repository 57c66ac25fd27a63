"""The web view in a real headless Chromium (Debian's, driven by Playwright): sign in through the
emulator's Sign in with Slack page, filter the list, read an incident's timeline in order, count a
chart's marks; no JavaScript errors, usable at 375 px; a screenshot of each page is kept."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.bot.test_service_reports import SERVICES, services_team
from tests.harness import LEVELS, team
from tests.web.test_web_view import WebHarness

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
# Where the screenshots go (kept after a failing run: CI shows this folder).
SHOTS = Path(os.environ.get("INCIDENT_BOT_SCREENSHOTS", Path(__file__).parents[2] / "test-artifacts"))

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium and chromium-driver")
        pytest.skip("no Chromium here (make test installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()


async def _page(browser: Any, origin: str, width: int = 1280) -> tuple[Any, list[str]]:
    """A page, and the JavaScript errors and failed loads of the bot's own pages."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    problems: list[str] = []

    def console(m: Any) -> None:
        if m.type == "error" and str(m.location.get("url", "")).startswith(origin):
            problems.append(f"{m.text} ({m.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page, problems


@pytest.fixture(autouse=True)
def _shots_folder() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


async def _shot(page: Any, name: str, database_url: str) -> None:
    kind = "postgresql" if "postgresql" in database_url else "sqlite"
    await page.screenshot(path=str(SHOTS / f"{name}-{kind}.png"), full_page=True)


async def test_the_web_view_in_chromium(web_harness: WebHarness, browser: Any, database_url: str) -> None:
    h = web_harness
    team(h)
    first = await h.declare("sev1 Payments are down")
    await h.declare("sev3 Search is slow")
    for text in ("checked the gateway", "rolled back 4.2", "errors are gone"):
        await h.driver.say(h.alice, first, text)
        await h.command(h.alice, first, f"note {text}")
        h.clock.advance(timedelta(minutes=3))
    await h.command(h.alice, first, "resolve Rolled back")

    page, problems = await _page(browser, h.url)
    await page.goto(h.url + "/ui/")
    # Slack's (the emulator's) sign-in page: pick who to be.
    await page.get_by_role("link", name="alice").first.click()
    await page.wait_for_url(h.url + "/ui/")
    await page.wait_for_selector("#live li a")
    assert await page.locator("tr.row").count() == 2
    await _shot(page, "incidents", database_url)

    await page.select_option("select[name=severity]", "SEV3")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/ui/?*severity=SEV3*")
    assert await page.locator("tr.row").count() == 1
    assert "Search is slow" in await page.locator("tr.row").inner_text()

    await page.goto(h.url + "/ui/incidents/1")
    times = await page.locator("li.entry").evaluate_all("els => els.map(e => e.dataset.at)")
    assert len(times) >= 5 and times == sorted(times)
    texts = await page.locator("li.entry .text").all_inner_texts()
    order = [
        next(i for i, t in enumerate(texts) if w in t) for w in ("checked the gateway", "rolled back", "gone")
    ]
    assert order == sorted(order)
    await _shot(page, "incident", database_url)

    await page.goto(h.url + "/ui/metrics")
    marks = page.locator("#weekly svg rect.mark")
    assert await marks.count() == 2, "one mark per (week, severity) of the seeded incidents"
    assert sorted(await marks.evaluate_all("els => els.map(e => e.dataset.series)")) == ["SEV1", "SEV3"]
    await _shot(page, "metrics", database_url)
    assert problems == [], problems

    narrow, narrow_problems = await _page(browser, h.url, width=375)
    await narrow.context.add_cookies(await page.context.cookies())
    for path, name in (
        ("/ui/", "incidents-375"),
        ("/ui/incidents/1", "incident-375"),
        ("/ui/metrics", "metrics-375"),
    ):
        await narrow.goto(h.url + path)
        overflow = await narrow.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways at 375 px by {overflow} px"
        await _shot(narrow, name, database_url)
    assert narrow_problems == [], narrow_problems


@pytest.mark.parametrize("policy_data", [{**LEVELS, "services": SERVICES}])
async def test_the_services_page_and_the_service_filter_in_chromium(
    web_harness: WebHarness, browser: Any, database_url: str
) -> None:
    h = web_harness
    services_team(h)
    await h.declare("--service cache sev2 Evictions everywhere")
    await h.declare("--service search sev3 Search is slow")
    await h.declare("sev3 Nobody's service")

    page, problems = await _page(browser, h.url)
    await page.goto(h.url + "/ui/")
    await page.get_by_role("link", name="alice").first.click()
    await page.wait_for_url(h.url + "/ui/")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    await page.wait_for_url(h.url + "/ui/services")
    rows = page.locator("tr.service")
    assert await rows.evaluate_all("els => els.map(e => e.dataset.service)") == ["cache", "search", "billing"]
    assert "Evictions everywhere" in await rows.first.inner_text()
    await _shot(page, "services", database_url)

    await rows.first.get_by_role("link", name="cache", exact=True).click()
    await page.wait_for_url("**/ui/?service=cache")
    assert await page.locator("tr.row").count() == 1
    assert "Evictions everywhere" in await page.locator("tr.row").inner_text()

    await page.select_option("select[name=service]", "search")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/ui/?*service=search*")
    assert await page.locator("tr.row").count() == 1
    assert "Search is slow" in await page.locator("tr.row").inner_text()
    await page.select_option("select[name=service]", "")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/ui/?*service=&*")
    assert await page.locator("tr.row").count() == 3
    assert problems == [], problems

    narrow, narrow_problems = await _page(browser, h.url, width=375)
    await narrow.context.add_cookies(await page.context.cookies())
    await narrow.goto(h.url + "/ui/services")
    overflow = await narrow.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"/ui/services scrolls sideways at 375 px by {overflow} px"
    await _shot(narrow, "services-375", database_url)
    assert narrow_problems == [], narrow_problems
