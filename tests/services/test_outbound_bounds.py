"""Every outbound API call (webhooks, PagerDuty, trackers, Statuspage) is bounded like a fetch: a
total deadline, a cap on the answer, no redirects; what it stores as an error names the host only."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from storage.models import OutboxMessage
from tests.harness import Harness
from tests.hostile import HostileServer

SECRET = "private-SECRETKEY123"


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    s = await HostileServer(every=0.5).start()
    yield s
    await s.stop()


@pytest.fixture
def policy_data(hostile: HostileServer, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("STATUSPAGE_API_KEY", "sp-api-key")
    monkeypatch.setenv("GH_TOKEN", "ghp-test-token")
    return {
        "webhooks": [{"url": f"{hostile.base}/feed/{SECRET}/hook?key=abc", "secret": "hook-signing-1"}],
        "trackers": {
            "github": {"repo": "acme/api", "api_url": f"{hostile.base}/huge/gh", "token_env": "GH_TOKEN"}
        },
        "statuspage": {"page_id": "page123", "api_url": f"{hostile.base}/feed/{SECRET}/v1"},
        "delivery": {"max_attempts": 3, "backoff": "10s", "max_backoff": "1m", "timeout": "2s"},
    }


def _only_hook(h: Harness, url: str) -> None:
    """Deliver to one webhook at `url` from now on."""
    outbox = h.bot.shared.outbox
    hook = outbox.policy.webhooks[0].model_copy(update={"url": url})
    outbox.policy = outbox.policy.model_copy(update={"webhooks": (hook,)})


async def _rows(h: Harness) -> list:
    async with h.bot.shared.db.session() as s:
        return list((await s.execute(OutboxMessage.__table__.select())).all())


async def test_a_trickling_receiver_is_given_up_at_the_deadline_and_retried(
    harness: Harness, hostile: HostileServer
) -> None:
    h = harness
    hostile.mode = "trickle"
    await h.declare("sev3 Receiver trickles")
    # httpx's per-read timeout never fires on a byte every 0.5 s: only a total deadline ends this.
    await asyncio.wait_for(h.bot.shared.outbox.deliver_due(), 30)
    [row] = await _rows(h)
    assert (row.state, row.attempts) == ("pending", 1), "kept for a later attempt, not lost"
    assert row.last_error == f"{hostile.base}/… did not answer in full within 2 s"
    assert row.next_attempt_at is not None
    hostile.mode = "answer"
    h.clock.advance(timedelta(minutes=1))
    await h.bot.shared.outbox.deliver_due()
    [row] = await _rows(h)
    assert (row.state, row.attempts) == ("delivered", 2)
    assert hostile.requests == [f"/feed/{SECRET}/hook?key=abc"] * 2


async def test_a_huge_answer_is_cut_at_the_cap(harness: Harness, hostile: HostileServer) -> None:
    h = harness
    hostile.huge = 64 << 20
    _only_hook(h, f"{hostile.base}/huge/{SECRET}/hook")
    await h.declare("sev3 Receiver floods")
    await asyncio.wait_for(h.bot.shared.outbox.deliver_due(), 30)
    [row] = await _rows(h)
    assert row.state == "delivered", "a 2xx is a delivery, whatever follows it"
    # The bot reads 1 MB; socket buffers hold a few more. Reading it all would take all 64 MB.
    assert hostile.sent < 16 << 20, hostile.sent


async def test_a_tracker_flooding_its_answer_files_the_issue_once(
    harness: Harness, hostile: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    hostile.huge = 64 << 20
    channel = await h.declare("sev3 Tracker floods")
    await h.command(h.alice, channel, "followup <@U0BOB> +3d Add a circuit breaker")
    for _ in range(3):
        await asyncio.wait_for(h.bot.shared.outbox.deliver_due(), 30)
        h.clock.advance(timedelta(minutes=2))
    [issue] = [r for r in await _rows(h) if r.kind == "github.issue"]
    assert (issue.state, issue.attempts) == ("delivered", 1), "filed, so never filed again"
    assert hostile.requests.count("/huge/gh/repos/acme/api/issues") == 1
    assert hostile.sent < 16 << 20, hostile.sent
    assert "answer could not be read: the answer was cut at 1000000 bytes" in caplog.text


async def test_a_redirect_is_not_followed(harness: Harness, hostile: HostileServer) -> None:
    h = harness
    _only_hook(h, f"{hostile.base}/elsewhere/{SECRET}/hook")
    await h.declare("sev3 Receiver moved")
    await h.bot.shared.outbox.deliver_due()
    [row] = await _rows(h)
    assert row.state == "pending"
    assert row.last_error == (
        f"HTTP 302 from {hostile.base}/…: redirects are not followed (to http://localhost:{hostile.port}/…)"
    )
    assert hostile.requests == [f"/elsewhere/{SECRET}/hook"], "the other host was never asked"


async def test_a_failed_delivery_is_stored_and_shown_without_its_secret(harness: Harness) -> None:
    h = harness
    bad = f"http://127.0.0.1:99999/services/T0/B0/{SECRET}?token=abc"  # a port no socket takes
    _only_hook(h, bad)
    h.bot.shared.outbox.policy = h.bot.shared.outbox.policy.model_copy(
        update={"delivery": h.bot.shared.outbox.policy.delivery.model_copy(update={"max_attempts": 1})}
    )
    await h.declare("sev3 Receiver misconfigured")
    await h.bot.shared.outbox.deliver_due()
    [row] = await _rows(h)
    assert (row.state, row.last_error) == ("failed", "http://127.0.0.1:99999/…: invalid port 99999")
    env = {**os.environ, "DATABASE_URL": h.database_url}
    env.pop("INCIDENT_BOT_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "webhooks", "status", env=env, stdout=asyncio.subprocess.PIPE
    )
    out = (await asyncio.wait_for(proc.communicate(), 60))[0].decode()
    assert "after 1 attempts: http://127.0.0.1:99999/…: invalid port 99999" in out, out
    assert SECRET not in out and "token=abc" not in out, out


async def test_statuspage_gives_up_on_a_trickle_and_refuses_a_redirect(
    harness: Harness, hostile: HostileServer
) -> None:
    h = harness
    channel = await h.declare("sev3 Public trouble")
    hostile.mode = "trickle"
    await asyncio.wait_for(h.command(h.alice, channel, "statuspage investigating Looking"), 40)
    said = h.emu.responses[-1]["text"]
    assert "did not answer" in said and "nothing was published" in said, said
    assert len(hostile.requests) == 3, "three attempts, each cut at its deadline"
    hostile.mode, hostile.requests[:] = "answer", []
    service = h.bot.ctx.statuspage
    assert service.policy.statuspage is not None
    moved = service.policy.statuspage.model_copy(update={"api_url": f"{hostile.base}/elsewhere/{SECRET}/v1"})
    service.policy = service.policy.model_copy(update={"statuspage": moved})
    await h.command(h.alice, channel, "statuspage investigating Looking")
    said = h.emu.responses[-1]["text"]
    assert "redirect" in said and SECRET not in said, said
    assert hostile.requests == [f"/elsewhere/{SECRET}/v1/pages/page123/incidents"], "not followed"
