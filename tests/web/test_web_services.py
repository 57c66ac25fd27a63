"""Services on the web view: an incident's service, the Services page (open incidents, 90-day MTTA and
MTTR, past services too, private incidents only for their members), the list filtered by service."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import update

from storage.models import Incident
from tests.bot.test_service_reports import SERVICES, services_team
from tests.harness import LEVELS, timed_incident
from tests.web.test_web_view import WebHarness, _text, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
def policy_data() -> dict:
    return {**LEVELS, "services": SERVICES}


def _row(page: str, service: str) -> str:
    """The Services page's row of `service`."""
    return page.split(f'data-service="{service}"', 1)[1].split("</tr>", 1)[0]


async def test_the_services_page(web_harness: WebHarness) -> None:
    h = web_harness
    services_team(h)
    h.emu.add_user("carol", user_id="U0CAROL")
    await timed_incident(h, "sev3 Old ledger fault", None, 10)
    async with h.bot.shared.db.session() as s:  # a service since taken out of the policy
        await s.execute(update(Incident).where(Incident.number == 1).values(service="ledger"))
    h.clock.advance(timedelta(days=100))
    await timed_incident(h, "--service cache sev2 Evictions everywhere", 2, 30)
    await timed_incident(h, "--service cache sev1 Cache is down", 6, 50)
    await h.declare("--service cache sev2 <script>alert(1)</script> keys & values")
    await h.declare("--private --service search sev1 Secret search leak")

    alice, carol = await sign_in(h, h.alice), await sign_in(h, "U0CAROL")
    try:
        status, page = await _text(alice, h.url + "/ui/services")
        assert status == 200 and '<a href="/ui/services">Services</a>' in page
        order = re.findall(r'<tr class="service" data-service="([^"]+)"', page)
        assert order == ["cache", "search", "billing", "ledger"], "the policy's order, then past services"

        cache = _row(page, "cache")
        assert re.findall(r'href="/ui/incidents/(\d+)"', cache) == ["4"], "its open one"
        assert "&lt;script&gt;alert(1)&lt;/script&gt; keys &amp; values" in cache and "<script>" not in page
        cells = re.findall(r"<td>([^<]*)</td>", cache)
        assert cells == ["3", "4m", "5m", "40m", "48m"], "3 declared; MTTA and MTTR median and p90"
        assert "RUN-042: Cache Eviction Storm" in cache, "the runbook's title"

        assert re.findall(r'href="/ui/incidents/(\d+)"', _row(page, "search")) == ["5"]
        assert re.findall(r"<td>([^<]*)</td>", _row(page, "billing")) == ["0", "—", "—", "—", "—"]
        ledger = _row(page, "ledger")
        assert "not in the policy" in ledger, "a service only past incidents name is listed"
        assert re.findall(r"<td>([^<]*)</td>", ledger)[0] == "0", "its incident is older than 90 days"

        status, seen_by_carol = await _text(carol, h.url + "/ui/services")
        assert status == 200 and "Secret search leak" not in seen_by_carol
        search = _row(seen_by_carol, "search")
        assert "/ui/incidents/" not in search and re.findall(r"<td>([^<]*)</td>", search)[0] == "0"
    finally:
        await alice.close()
        await carol.close()


async def test_the_list_filters_by_service_and_the_incident_names_it(web_harness: WebHarness) -> None:
    h = web_harness
    services_team(h)
    await h.declare("--service cache sev2 Evictions everywhere")
    await h.declare("--service search sev3 Search is slow")
    await h.declare("sev3 Nobody's service")
    await h.declare("--private --service cache sev1 Embargoed cache leak", user=h.bob)
    session = await sign_in(h, h.alice)
    try:
        _, everything = await _text(session, h.url + "/ui/")
        assert len(re.findall(r'<tr class="row"', everything)) == 3
        options = re.findall(r"<option[^>]*>([^<]*)</option>", everything.split('name="service"')[1])
        assert options[:4] == ["any", "cache", "search", "billing"]

        status, cache = await _text(session, h.url + "/ui/?service=cache")
        assert status == 200 and re.findall(r'data-number="(\d+)"', cache) == ["1"], "not bob's private one"
        assert "<option selected>cache</option>" in cache
        _, search = await _text(session, h.url + "/ui/?service=search&status=open")
        assert re.findall(r'data-number="(\d+)"', search) == ["2"]

        for unknown in ("nosuch", "%00", "<b>x</b>", "x" * 300, "cache%27%20OR%201=1--"):
            status, page = await _text(session, h.url + "/ui/?service=" + unknown)
            assert status == 200 and "No incident matches." in page, unknown
            assert "<b>x</b>" not in page

        status, incident = await _text(session, h.url + "/ui/incidents/1")
        assert status == 200
        assert '<dt>Service</dt><dd><a href="/ui/?service=cache">cache</a></dd>' in incident
        assert "<strong>Service</strong>" in incident, "the postmortem draft names it too"
        _, other = await _text(session, h.url + "/ui/incidents/3")
        assert "<dt>Service</dt><dd>—</dd>" in other
    finally:
        await session.close()


async def test_the_services_page_wants_a_session(web_harness: WebHarness) -> None:
    async with aiohttp.ClientSession() as anonymous:
        status, _ = await _text(anonymous, web_harness.url + "/ui/services")
    assert status == 302
