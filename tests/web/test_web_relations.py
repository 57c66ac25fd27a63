"""Related incidents and duplicates on the web view: both directions linked on the incident page, in
the draft and the downloads; "Duplicate of INC-n"; a private one's title only for its channel's members;
a duplicate left out of the metrics page's MTTR."""

from __future__ import annotations

import json
import re

import pytest

from tests.harness import team
from tests.web.test_web_view import WebHarness, _text, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


def _related(page: str) -> list[str]:
    """The incident page's Related incidents list, one text per item."""
    if "<h2>Related incidents</h2>" not in page:
        return []
    block = page.split("<h2>Related incidents</h2>", 1)[1].split("</ul>", 1)[0]
    return [
        " ".join(re.sub(r"<[^>]+>", "", item).split()) for item in re.findall(r"<li.*?</li>", block, re.S)
    ]


async def test_the_incident_page_and_the_downloads_show_related_incidents(web_harness: WebHarness) -> None:
    h = web_harness
    team(h)
    carol = h.emu.add_user("carol", user_id="U0CAROL")
    checkout = await h.declare("sev2 Checkout is down")
    await h.declare("sev3 Payments <b>slow</b>")
    await h.declare("--private sev1 Embargoed breach at Globex")
    dup = await h.declare("sev3 Checkout 502s")
    await h.command(h.alice, checkout, "link INC-2")
    await h.command(h.alice, checkout, "link INC-3")
    await h.command(h.alice, dup, "duplicate INC-1")

    alice, other = await sign_in(h, h.alice), await sign_in(h, carol)
    try:
        _, page = await _text(alice, h.url + "/ui/incidents/1")
        assert 'href="/ui/incidents/2">INC-2</a>' in page and 'href="/ui/incidents/3">INC-3</a>' in page
        assert _related(page) == [
            "INC-2: Payments &lt;b&gt;slow&lt;/b&gt; (investigating)",
            "INC-3: Embargoed breach at Globex (investigating)",
        ], "a member sees the private one's title"
        _, seen_by_carol = await _text(other, h.url + "/ui/incidents/1")
        assert _related(seen_by_carol) == ["INC-2: Payments &lt;b&gt;slow&lt;/b&gt; (investigating)",
                                           "INC-3 (a private incident)"]  # fmt: skip
        assert "Embargoed" not in seen_by_carol
        _, back = await _text(other, h.url + "/ui/incidents/2")
        assert _related(back) == ["INC-1: Checkout is down (investigating)"], "the other direction"

        _, duplicate = await _text(other, h.url + "/ui/incidents/4")
        fact = duplicate.split('<dd class="duplicate-of">', 1)[1].split("</dd>", 1)[0]
        assert fact == '<a href="/ui/incidents/1">INC-1</a>: Checkout is down'
        assert "Duplicate of INC-1" in duplicate, "in the draft as well"

        _, md = await _text(other, h.url + "/ui/incidents/1/postmortem.md")
        section = md.split("## Related incidents\n\n", 1)[1].split("\n\n", 1)[0]
        assert section == "- INC-2: Payments &lt;b&gt;slow&lt;/b&gt;\n- INC-3: _a private incident_"
        _, md = await _text(alice, h.url + "/ui/incidents/1/postmortem.md")
        assert "- INC-3: Embargoed breach at Globex" in md
        _, md = await _text(other, h.url + "/ui/incidents/4/postmortem.md")
        assert "| **Duplicate of** | INC-1 |" in md and "- Duplicate of INC-1: Checkout is down" in md

        _, exported = await _text(other, h.url + "/ui/incidents/1/export.json")
        data = json.loads(exported)
        assert data["duplicate_of"] is None
        assert data["related"] == [
            {"id": "INC-2", "title": "Payments <b>slow</b>", "status": "investigating"},
            {"id": "INC-3", "title": None, "status": None},
        ]
        _, exported = await _text(other, h.url + "/ui/incidents/4/export.json")
        assert json.loads(exported)["duplicate_of"] == "INC-1"
    finally:
        await alice.close()
        await other.close()


async def test_a_duplicate_is_left_out_of_the_metrics(web_harness: WebHarness) -> None:
    h = web_harness
    team(h)
    checkout = await h.declare("sev2 Checkout is down")
    dup = await h.declare("sev3 Checkout 502s")
    await h.advance(minutes=5)
    await h.command(h.alice, dup, "duplicate INC-1")
    await h.advance(minutes=20)
    await h.command(h.alice, checkout, "resolve Rolled back")
    session = await sign_in(h, h.alice)
    try:
        _, metrics = await _text(session, h.url + "/ui/metrics")
        mttr = metrics.split('id="mttr"', 1)[1].split("</figure>", 1)[0]
        assert re.findall(r'data-series="(SEV\d)"', mttr) == ["SEV2"], "not the SEV3 duplicate"
    finally:
        await session.close()
