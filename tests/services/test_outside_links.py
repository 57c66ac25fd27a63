"""URLs other systems and people hand the bot: only absolute http(s) ones are kept as links."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Incident
from tests.harness import Harness
from tests.receivers import Receiver

EVIL = "javascript:alert(document.domain)//"


@pytest.fixture
def policy_data(statuspage: Receiver, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("STATUSPAGE_API_KEY", "sp-api-key")
    statuspage.answer = {"id": "sp-inc-1", "shortlink": EVIL}
    return {"statuspage": {"page_id": "page123", "api_url": statuspage.url + "/v1", "components": {}}}


async def test_a_javascript_shortlink_or_postmortem_address_is_never_kept(
    harness: Harness, statuspage: Receiver
) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout errors")
    await h.command(h.alice, channel, "statuspage investigating Looking into it")
    assert len(statuspage.requests) == 1, "published"
    await h.command(h.alice, channel, "resolve Rolled back")
    await h.command(h.alice, channel, f"postmortem done {EVIL}")
    await h.command(h.alice, channel, "postmortem done JAVASCRIPT://example.com/%0aalert(1)")
    async with h.bot.shared.db.session() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
    assert (incident.statuspage_id, incident.statuspage_link) == ("sp-inc-1", None)
    assert incident.postmortem_url is None
    assert "javascript" not in str(h.emu.messages(channel)).lower()
