"""The web view names people (users.info's names, else the bare ID) and shows Slack's tokens as words:
no `<@…>` or `<!…>` markup reaches a page, escaped or not."""

from __future__ import annotations

import re

import pytest

from tests.harness import LEVELS, team
from tests.web.test_web_view import WebHarness, _text, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
# Slack's tokens, as they would show in the HTML: raw, or escaped by the template.
MARKUP = re.compile(r"<(?:@|!(?!(?i:doctype)))|&lt;[@!#]|&#60;[@!]")


@pytest.fixture
def policy_data() -> dict:
    return LEVELS


async def test_the_incident_page_names_the_people_paged_and_shows_no_markup(web_harness: WebHarness) -> None:
    h = web_harness
    team(h)
    oncall = h.emu.state.users["U0ONCALL"]
    oncall.display_name, oncall.real_name = "", "Olive Oncall"
    h.emu.state.users["U0LEAD"].display_name = "Lee <!channel>"
    channel = await h.declare("sev1 Payments are down")
    await h.tick()
    await h.advance(minutes=30)
    [page] = [m for m in h.emu.dms("U0LEAD") if "page_acknowledge" in str(m.get("blocks"))]
    await h.driver.click("U0LEAD", h.emu.state.open_dm("U0LEAD").id, page["ts"], "page_acknowledge")
    await h.idle()
    await h.command(h.alice, channel, "note asked <@U0GONE> to look")  # nobody Slack knows: the bare ID
    await h.command(
        h.alice, channel, "note <!channel> <!subteam^S0MANAGERS|@managers> see <#C0GENERAL|general>"
    )
    await h.command(h.alice, channel, "update monitoring Paging <@U0ONCALL> again")
    await h.advance(seconds=30)  # the background pass: who was paged
    session = await sign_in(h, h.alice)
    try:
        status, html = await _text(session, h.url + "/ui/incidents/1")
    finally:
        await session.close()
    assert status == 200
    assert "Paged L1 On-call engineer: Olive Oncall" in html
    assert "Lee ‹!channel&gt; acknowledged the L2 page" in html
    assert "@channel @managers see #general" in html
    assert "Paging Olive Oncall again" in html
    assert '<span class="author">alice</span>' in html
    assert "<td>Olive Oncall</td>" in html, "the pages table names whom it paged"
    assert MARKUP.findall(html) == [], "no Slack markup, raw or escaped"
    assert "asked U0GONE to look" in html
    assert "@U0" not in html and "U0ONCALL" not in html
