"""`/incident postmortem` of a long incident: the draft is built page by page, a slice at a time, so
Slack's requests are still acknowledged at once; the upload has every entry; when uploads are refused,
a bounded number of messages and where to get the rest."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.drafts import POSTED_CHUNKS
from storage.models import Incident, TimelineEntry
from tests.harness import Harness
from tests.web.test_web_view import WebHarness

_ENTRY = re.compile(r"entry (\d+):")


async def _seed(h: Harness, n: int) -> None:
    """`n` entries on INC-1 by bulk insert, each naming its number."""
    async with h.bot.shared.db.session() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
        rows = [
            {
                "incident_id": incident.id,
                "kind": "note" if i % 3 else "scribe",
                "text": f"entry {i}: checked <https://example.com/x|the dashboard> *again*",
                "at": incident.declared_at + timedelta(seconds=i),
                "author_id": h.alice,
            }
            for i in range(n)
        ]
        for at in range(0, n, 10_000):
            await s.execute(TimelineEntry.__table__.insert(), rows[at : at + 10_000])


def _uploaded(h: Harness) -> str | None:
    """The text of the draft shared in the channel, once its upload is complete."""
    done = [c for c in h.emu.calls_to("files.completeUploadExternal") if c.response.get("ok")]
    return h.emu.file_content(done[-1].response["files"][0]["id"]).decode() if done else None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_slack_is_acked_at_once_while_a_100k_entry_draft_is_built(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    await _seed(h, 100_000)
    result: Any = await h.driver.command(h.alice, channel, "postmortem")
    assert result.ok, result.body
    work = asyncio.create_task(h.idle())  # the inbox worker carries it out, as `serve` would
    during = sent = 0
    while _uploaded(h) is None and not work.done():
        result = await h.driver.command(h.alice, channel, f"note still here {sent}")
        sent += 1
        assert result.ok, result.body
        during += _uploaded(h) is None
        await asyncio.sleep(0.02)
    await work
    await h.idle()
    # Each of these was answered while the draft was still unbuilt: drafted in one go (as before), the
    # loop would answer none until the upload was done. How fast they are is bench/export.py's to say.
    assert during >= 5, f"only {during} of {sent} requests were answered while the draft was built"
    draft = _uploaded(h)
    assert draft is not None and draft.startswith("# Postmortem: INC-1") and draft.endswith("culprits.\n")
    assert {int(n) for n in _ENTRY.findall(draft)} == set(range(100_000))


async def _refused(h: Harness, entries: int) -> list[dict[str, Any]]:
    """`/incident postmortem` of a long incident in a workspace that refuses uploads: what it posts."""
    channel = await h.declare("sev2 Checkout is down")
    await _seed(h, entries)
    h.emu.inject("files.getUploadURLExternal", error="not_allowed_token_type")
    before = len(h.emu.messages(channel))
    await h.command(h.alice, channel, "postmortem")
    return h.emu.messages(channel)[before:]


async def test_a_long_draft_posts_a_bounded_number_of_messages(harness: Harness) -> None:
    posted = await _refused(harness, 5_000)
    assert "not_allowed_token_type" in posted[0]["text"]
    assert len(posted) == POSTED_CHUNKS + 1, f"{len(posted)} messages posted"
    body = "".join(str(m["blocks"]) for m in posted[:-1])
    assert "# Postmortem: INC-1" in body and "entry 0:" in body and "entry 4999:" not in body
    last = str(posted[-1]["blocks"])
    assert "too long" in last and "`incident-bot export INC-1`" in last and "/ui/" not in last


class PublicWebHarness(WebHarness):
    """The web view on, at a public address."""

    def settings(self):  # type: ignore[no-untyped-def]
        return super().settings().model_copy(update={"incident_bot_public_url": "https://bot.example/"})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_rest_of_a_long_draft_is_a_download_of_the_web_view(database_url: str) -> None:
    h = PublicWebHarness(database_url)
    await h.start()
    try:
        posted = await _refused(h, 5_000)
    finally:
        await h.stop()
    assert len(posted) == POSTED_CHUNKS + 1
    last = str(posted[-1]["blocks"])
    assert "https://bot.example/ui/incidents/1/postmortem.md" in last and "incident-bot export INC-1" in last
