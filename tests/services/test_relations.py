"""Related incidents and duplicates: `/incident link` posted in both channels and on both timelines,
`/incident duplicate` resolving the duplicate (its pages stop) and kept out of MTTA and MTTR, a private
incident named only as "a private incident" outside its own channel."""

from __future__ import annotations

import json
from typing import Any

import pytest

from storage.models import Incident
from tests.harness import LEVELS, Harness, paged, team
from tests.processes import run_cli

SECRET_WORDS = ("embargoed", "globex")


@pytest.fixture
def policy_data() -> dict:
    return LEVELS


def _said(h: Harness, channel: str) -> list[str]:
    return [str(m.get("blocks")) + m.get("text", "") for m in h.emu.messages(channel)]


def _answer(h: Harness, user: str) -> str:
    return str(h.emu.ephemerals(user)[-1]["text"])


async def _entries(h: Harness, channel: str, *kinds: str) -> list[str]:
    _, entries = await h.bot.ctx.timeline.entries(channel)
    return [e.text for e in entries if e.kind in kinds]


async def _incident(h: Harness, number: int) -> Incident:
    async with h.bot.shared.db.session() as s:
        found = (await s.execute(Incident.__table__.select().where(Incident.number == number))).one()
    return found  # type: ignore[no-any-return]


async def _cli(h: Harness, *args: str) -> tuple[int, str]:
    code, out, err = await run_cli(h.database_url, None, *args)
    return code, out + err


async def _acknowledge(h: Harness, channel: str) -> None:
    """U0ONCALL acknowledges their page of the incident of `channel`."""
    [dm] = [m for m in h.emu.dms("U0ONCALL") if f"<#{channel}>" in str(m.get("blocks"))]
    await h.driver.click("U0ONCALL", h.emu.state.open_dm("U0ONCALL").id, dm["ts"], "page_acknowledge")
    await h.idle()


async def test_link_records_the_relation_both_ways_once(harness: Harness) -> None:
    h = harness
    team(h)
    checkout = await h.declare("sev2 Checkout is down")
    payments = await h.declare("sev3 Payments <!channel> slow")
    await h.command(h.bob, checkout, "link INC-2")

    [here] = [m for m in _said(h, checkout) if ":link:" in m]
    assert "INC-2" in here and f"<#{payments}>" in here and "Payments @channel slow" in here
    assert f"<@{h.bob}>" in here and "<!channel>" not in here
    [there] = [m for m in _said(h, payments) if ":link:" in m]
    assert "INC-1" in there and f"<#{checkout}>" in there and "Checkout is down" in there
    assert await _entries(h, checkout, "related") == ["Related to INC-2: Payments @channel slow"]
    assert await _entries(h, payments, "related") == ["Related to INC-1: Checkout is down"]

    await h.command(h.alice, payments, "link inc-1")
    assert "INC-2 and INC-1 are already linked" in _answer(h, h.alice)
    await h.command(h.alice, checkout, f"link <#{payments}|payments>")
    assert "INC-1 and INC-2 are already linked" in _answer(h, h.alice)
    assert len([m for m in _said(h, checkout) + _said(h, payments) if ":link:" in m]) == 2, "posted once"
    assert len(await _entries(h, payments, "related")) == 1

    await h.command(h.alice, checkout, "link INC-1")
    assert "INC-1 itself" in _answer(h, h.alice)
    await h.command(h.alice, checkout, "link INC-99")
    assert "There is no incident INC-99" in _answer(h, h.alice)
    await h.command(h.alice, h.general, "link INC-1")
    assert "only works in an incident channel" in _answer(h, h.alice)
    await h.command(h.alice, checkout, "link <!channel>")
    said = _answer(h, h.alice)
    assert "is not an incident" in said and "<!channel>" not in said
    assert len(await _entries(h, checkout, "related")) == 1


async def test_duplicate_resolves_it_stops_its_pages_and_points_at_the_original(harness: Harness) -> None:
    h = harness
    team(h)
    carol = h.emu.add_user("carol", user_id="U0CAROL")
    original = await h.declare("sev2 Checkout is down")
    dup = await h.declare("sev2 Checkout returns 502s", user=h.bob)
    await h.tick()
    assert paged(h) == ["U0ONCALL", "U0ONCALL"]

    await h.advance(minutes=10)
    await h.command(carol, dup, "duplicate INC-1")
    assert "Only responders can mark INC-2 as a duplicate" in _answer(h, carol)
    await h.command(h.bob, dup, "duplicate INC-1")

    await h.advance(minutes=25)
    assert paged(h)[2:] == ["U0LEAD"], "L2 for the original only"
    assert f"<#{original}>" in str(h.emu.dms("U0LEAD")[-1]["blocks"])
    row = await _incident(h, 2)
    assert row.resolved_at is not None and row.duplicate_of == (await _incident(h, 1)).id
    assert row.summary == "Duplicate of INC-1"

    [pointer] = [m for m in _said(h, dup) if "marked this incident as a duplicate" in m]
    assert "INC-1" in pointer and f"<#{original}>" in pointer and "Checkout is down" in pointer
    assert any("Resolved" in m and "Duplicate of INC-1" in m for m in _said(h, dup))
    [there] = [m for m in _said(h, original) if "as a duplicate of this incident" in m]
    assert "INC-2" in there and f"<#{dup}>" in there and f"<@{h.bob}>" in there
    assert await _entries(h, dup, "duplicate") == ["Marked as a duplicate of INC-1: Checkout is down"]
    assert await _entries(h, dup, "resolved") == ["Resolved: Duplicate of INC-1"]
    assert await _entries(h, original, "duplicate") == [
        "INC-2: Checkout returns 502s marked as a duplicate of this incident"
    ]
    assert (await _incident(h, 1)).resolved_at is None, "the original goes on"

    await h.command(h.bob, dup, "duplicate INC-1")
    assert "INC-2 is already resolved" in _answer(h, h.bob)
    await h.command(h.alice, original, "duplicate INC-1")
    assert "INC-1 itself" in _answer(h, h.alice)
    await h.command(h.alice, original, "duplicate INC-2")
    assert "INC-2 is itself a duplicate of INC-1" in _answer(h, h.alice)
    await h.command(h.alice, original, "duplicate INC-42")
    assert "There is no incident INC-42" in _answer(h, h.alice)
    assert (await _incident(h, 1)).duplicate_of is None

    third = await h.declare("sev3 Checkout slow")
    await h.command(h.alice, third, "duplicate INC-2")
    assert (await _incident(h, 3)).duplicate_of == (await _incident(h, 1)).id, "a duplicate's original"
    assert any("as a duplicate of this incident" in m and "INC-3" in m for m in _said(h, original))

    # The original turns out to be a duplicate itself: its duplicates now point at the new original.
    await h.declare("sev1 Payments platform down")
    await h.command(h.alice, original, "duplicate INC-4")
    root_id = (await _incident(h, 4)).id
    assert [(await _incident(h, n)).duplicate_of for n in (1, 2, 3)] == [root_id] * 3


async def test_duplicates_are_left_out_of_mtta_and_mttr(harness: Harness) -> None:
    h = harness
    team(h)
    first = await h.declare("sev2 Checkout is down")
    await h.tick()
    await h.advance(minutes=2)
    await _acknowledge(h, first)
    second = await h.declare("sev2 Checkout 502s")
    await h.tick()
    await h.advance(minutes=20)
    await _acknowledge(h, second)
    await h.advance(minutes=8)
    await h.command(h.alice, second, "duplicate INC-1")
    await h.advance(minutes=10)
    await h.command(h.alice, first, "resolve Rolled back")

    code, out = await _cli(h, "stats", "--since", "3650d", "--format", "json")
    assert code == 0, out
    sev2 = json.loads(out)["by_severity"]["SEV2"]
    assert (sev2["declared"], sev2["resolved"]) == (2, 2), "a duplicate still counts"
    assert (sev2["mtta_p50"], sev2["mtta_p90"]) == (120.0, 120.0), "INC-1's 2 minutes only"
    assert (sev2["mttr_p50"], sev2["mttr_p90"]) == (2400.0, 2400.0), "INC-1's 40 minutes only"


async def test_a_private_incident_is_named_only_as_a_private_incident(harness: Harness) -> None:
    h = harness
    team(h)
    public = await h.declare("sev2 Checkout is down")
    secret = await h.declare("--private sev1 Embargoed breach at Globex")
    await h.command(h.alice, public, "link INC-2")

    def private_words(texts: list[str]) -> list[str]:
        return [t for t in texts if any(w in t.lower() for w in SECRET_WORDS)]

    [here] = [m for m in _said(h, public) if ":link:" in m]
    assert "INC-2" in here and "a private incident" in here and f"<#{secret}>" not in here
    assert private_words(_said(h, public)) == []
    assert await _entries(h, public, "related") == ["Related to INC-2 (a private incident)"]
    [there] = [m for m in _said(h, secret) if ":link:" in m]
    assert "Checkout is down" in there, "a public incident is named in full"

    dup = await h.declare("sev3 Checkout slow")
    await h.command(h.alice, dup, "duplicate INC-2")
    assert any("a private incident" in m for m in _said(h, dup))
    assert private_words(_said(h, dup) + _said(h, h.announce)) == []
    assert await _entries(h, dup, "duplicate") == ["Marked as a duplicate of INC-2 (a private incident)"]

    code, md = await _cli(h, "export", "INC-1")
    assert code == 0 and "## Related incidents\n\n- INC-2: _a private incident_\n" in md
    assert private_words([md]) == []
    code, out = await _cli(h, "export", "INC-3", "--format", "json")
    data: dict[str, Any] = json.loads(out)
    assert data["duplicate_of"] == "INC-2" and private_words([out]) == []
