"""Custom fields on the web view: an incident page shows each configured field; the list filters by a
select or multi-select field's option (`?field.<name>=<option>`), private incidents only for their
channel's members, a value no option has matching nothing."""

from __future__ import annotations

import re

import pytest

from tests.field_values import FIELDS, set_fields
from tests.harness import LEVELS
from tests.web.test_web_view import WebHarness, _text, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
HOSTILE = "<script>alert(1)</script> & <!channel>"


@pytest.fixture
def policy_data() -> dict:
    return {**LEVELS, "fields": FIELDS}


def _listed(page: str) -> list[str]:
    return re.findall(r'<tr class="row" data-number="(\d+)"', page)


def _field(page: str, name: str) -> str:
    """What the incident page's fact of field `name` says."""
    return page.split(f'<dd class="field" data-field="{name}">', 1)[1].split("</dd>", 1)[0]


async def _incidents(h: WebHarness) -> None:
    await h.declare("sev2 Carts empty")
    await set_fields(h, 1, region="EU", products=["Cart", "Pay"], customer=HOSTILE, seats=12.0)
    await set_fields(h, 1, liaison="U0BOB", ticket="https://tickets.example.com/T-9?a=1&b=2")
    await h.declare("sev3 Payments slow")
    await set_fields(h, 2, region="US", products=["Pay"])
    await h.declare("sev3 Nothing known yet")
    await h.declare("--private sev1 Embargoed cart leak", user=h.bob)
    await set_fields(h, 4, region="EU", products=["Cart"], customer="Globex secret")


async def test_the_list_filters_by_a_select_or_multi_select_field(web_harness: WebHarness) -> None:
    h = web_harness
    await _incidents(h)
    alice, bob = await sign_in(h, h.alice), await sign_in(h, h.bob)
    try:
        _, everything = await _text(alice, h.url + "/ui/")
        assert _listed(everything) == ["3", "2", "1"]
        region = everything.split('<select name="field.region">', 1)[1].split("</select>", 1)[0]
        assert re.findall(r"<option[^>]*>([^<]*)</option>", region) == ["any", "EU", "US", "APAC"]
        assert 'name="field.products"' in everything and "Affected products" in everything
        assert 'name="field.customer"' not in everything, "a filter for select fields only"

        status, eu = await _text(alice, h.url + "/ui/?field.region=EU")
        assert status == 200 and _listed(eu) == ["1"], "not bob's private one"
        assert "<option selected>EU</option>" in eu
        _, eu_for_bob = await _text(bob, h.url + "/ui/?field.region=eu")
        assert _listed(eu_for_bob) == ["4", "1"], "its channel's member sees it; an option in any case"
        assert "Embargoed cart leak" in eu_for_bob and "Embargoed" not in eu

        _, pay = await _text(alice, h.url + "/ui/?field.products=Pay")
        assert _listed(pay) == ["2", "1"], "a multi-select holding the option"
        _, cart = await _text(alice, h.url + "/ui/?field.products=Cart&status=open")
        assert _listed(cart) == ["1"]
        _, both = await _text(alice, h.url + "/ui/?field.products=Pay&field.region=US")
        assert _listed(both) == ["2"], "filters add up"
        _, paged = await _text(alice, h.url + "/ui/?field.products=Pay")
        assert 'name="field.products"' in paged and "<option selected>Pay</option>" in paged

        for unknown in ("nosuch", "%00", "<b>x</b>", "x" * 300, "EU%27%20OR%201=1--", "%5B%22EU%22%5D"):
            status, page = await _text(alice, h.url + "/ui/?field.region=" + unknown)
            assert status == 200 and "No incident matches." in page, unknown
            assert "<b>x</b>" not in page
        status, page = await _text(alice, h.url + "/ui/?field.nosuch=EU")
        assert status == 200 and "No incident matches." in page, "a field the policy lacks"
        _, blank = await _text(alice, h.url + "/ui/?field.region=")
        assert _listed(blank) == ["3", "2", "1"], "'any' filters nothing"
    finally:
        await alice.close()
        await bob.close()


async def test_the_incident_page_shows_every_field(web_harness: WebHarness) -> None:
    h = web_harness
    await _incidents(h)
    alice, bob = await sign_in(h, h.alice), await sign_in(h, h.bob)
    try:
        status, page = await _text(alice, h.url + "/ui/incidents/1")
        assert status == 200
        assert "<dt>Region</dt>" in page and "<dt>Customer liaison</dt>" in page
        assert _field(page, "region") == '<a href="/ui/?field.region=EU">EU</a>'
        assert _field(page, "products") == (
            '<a href="/ui/?field.products=Cart">Cart</a>, <a href="/ui/?field.products=Pay">Pay</a>'
        )
        customer = _field(page, "customer")
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in customer and "@channel" in customer
        assert "<script>" not in page and "<!channel>" not in page
        assert _field(page, "seats") == "12" and _field(page, "liaison") == "bob", "by the name Slack shows"
        assert _field(page, "ticket") == (
            '<a href="https://tickets.example.com/T-9?a=1&amp;b=2" rel="noopener noreferrer">'
            "https://tickets.example.com/T-9?a=1&amp;b=2</a>"
        )
        draft = page.split('<article class="postmortem">', 1)[1]
        assert (
            "<strong>Fields</strong>" in draft
            and "bob" in draft.split("<strong>Fields</strong>", 1)[1].split("</table>", 1)[0]
        ), "the draft has them too"

        _, none = await _text(alice, h.url + "/ui/incidents/3")
        assert all(_field(none, f["name"]) == "—" for f in FIELDS)

        status, _ = await _text(alice, h.url + "/ui/incidents/4")
        assert status == 404, "a private incident's fields only for its channel's members"
        status, secret = await _text(bob, h.url + "/ui/incidents/4")
        assert status == 200 and _field(secret, "customer") == "Globex secret"
    finally:
        await alice.close()
        await bob.close()
