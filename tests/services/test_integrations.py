"""Outbound integrations against real local receivers: webhooks, PagerDuty, Statuspage."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage.models import OutboxMessage
from tests.harness import Harness, team
from tests.receivers import Receiver

SECRET = "hook-secret-123"


@pytest.fixture
async def pagerduty() -> AsyncIterator[Receiver]:
    r = await Receiver(status=202, answer={"status": "success", "dedup_key": "x"}).start()
    yield r
    await r.stop()


@pytest.fixture
def policy_data(
    hooks: Receiver, pagerduty: Receiver, statuspage: Receiver, monkeypatch: pytest.MonkeyPatch
) -> dict:
    monkeypatch.setenv("PD_KEY_L1", "pd-routing-key-l1")
    monkeypatch.setenv("STATUSPAGE_API_KEY", "sp-api-key")
    return {
        "webhooks": [
            {"url": hooks.url + "/all", "secret": SECRET},
            {"url": hooks.url + "/resolved-only", "secret": SECRET + "2", "events": ["resolved"]},
        ],
        "escalation": {
            "levels": [
                {"name": "L1", "users": ["U0ONCALL"], "after": "0s", "pagerduty_routing_key": "PD_KEY_L1"},
                {"name": "L2", "users": ["U0LEAD"], "after": "30m"},
            ]
        },
        "pagerduty": {"events_url": pagerduty.url + "/v2/enqueue"},
        "statuspage": {
            "page_id": "page123",
            "api_url": statuspage.url + "/v1",
            "components": {"checkout": "cmp-checkout", "api": "cmp-api"},
        },
        "delivery": {"max_attempts": 4, "backoff": "10s", "max_backoff": "1m", "timeout": "3s"},
    }


async def _deliver(h: Harness, rounds: int = 1) -> None:
    for _ in range(rounds):
        await h.bot.shared.outbox.deliver_due()


def _events(r: Receiver, path: str) -> list[str]:
    return [x.json["event"] for x in r.delivered() if x.path == path]


async def test_webhooks_are_signed_and_carry_the_incident(harness: Harness, hooks: Receiver) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev2 Checkout is down")
    await h.tick()
    await h.command(h.alice, channel, "update identified Bad deploy")
    await h.command(h.alice, channel, "severity sev1")
    await h.command(h.alice, channel, "resolve Rolled back")
    await _deliver(h)
    assert _events(hooks, "/all") == ["declared", "paged", "updated", "severity_changed", "resolved"]
    assert _events(hooks, "/resolved-only") == ["resolved"]
    first = hooks.delivered()[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), first.body, hashlib.sha256).hexdigest()
    assert first.headers["X-Incident-Bot-Signature"] == expected
    assert first.headers["X-Incident-Bot-Event-Id"] == first.json["event_id"]
    incident = first.json["incident"]
    assert (incident["id"], incident["severity"], incident["status"], incident["commander"]) == (
        "INC-1", "SEV2", "investigating", h.alice,
    )  # fmt: skip
    assert incident["channel"]["id"] == channel and incident["declared_at"].endswith("Z")


async def test_a_receiver_down_for_a_while_gets_every_event_once_in_order(
    harness: Harness, hooks: Receiver
) -> None:
    h = harness
    hooks.status, hooks.retry_after = 503, "30"
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, "update identified Reindexing")
    await h.command(h.alice, channel, "resolve Reindexed")
    await _deliver(h)
    assert [r.json["event"] for r in hooks.requests if r.path == "/all"] == ["declared"], "later events wait"
    h.clock.advance(timedelta(seconds=20))
    await _deliver(h)
    assert len(hooks.requests) == 2, "Retry-After (30 s) is honoured over the 10 s backoff"
    h.clock.advance(timedelta(seconds=15))
    await _deliver(h)
    assert len(hooks.requests) == 4
    await h.restart()  # the outbox is in the database: nothing is lost by a restart mid-retry
    hooks.status = 200
    for _ in range(10):
        h.clock.advance(timedelta(minutes=1))
        await _deliver(h)
    assert _events(hooks, "/all") == ["declared", "updated", "resolved"]
    assert _events(hooks, "/resolved-only") == ["resolved"]
    ids = [r.json["event_id"] for r in hooks.requests if r.path == "/all" and r.json["event"] == "declared"]
    assert len(set(ids)) == 1 and len(ids) >= 3, "redelivery carries the same event id"


async def test_deliveries_give_up_after_max_attempts_and_status_shows_it(
    harness: Harness, hooks: Receiver
) -> None:
    h = harness
    hooks.status = 500
    await h.declare("sev4 Typo on the status page")
    for _ in range(8):
        await _deliver(h)
        h.clock.advance(timedelta(minutes=2))
    async with h.bot.shared.db.session() as s:
        rows = (await s.execute(OutboxMessage.__table__.select())).all()
    declared = [r for r in rows if r.target.endswith("/all")]
    assert [(r.state, r.attempts) for r in declared] == [("failed", 4)]
    assert len([r for r in hooks.requests if r.path == "/all"]) == 4
    env = {**os.environ, "DATABASE_URL": h.database_url}
    env.pop("INCIDENT_BOT_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "webhooks", "status", env=env, stdout=asyncio.subprocess.PIPE
    )
    out = (await proc.communicate())[0].decode()
    assert "failed\t1" in out and "after 4 attempts: HTTP 500" in out
    assert SECRET not in out


async def test_a_slow_receiver_does_not_hold_up_other_deliveries(harness: Harness, hooks: Receiver) -> None:
    h = harness
    slow = await Receiver(delay=6).start()
    try:
        fast_and_slow = h.bot.shared.outbox.policy.model_copy(
            update={
                "webhooks": (
                    h.bot.shared.outbox.policy.webhooks[0],
                    h.bot.shared.outbox.policy.webhooks[0].model_copy(update={"url": slow.url + "/slow"}),
                )
            }
        )
        h.bot.shared.outbox.policy = fast_and_slow
        await h.declare("sev3 Slow receiver")
        await _deliver(h)  # the slow one times out after delivery.timeout (3 s)
        assert _events(hooks, "/all") == ["declared"]
        async with h.bot.shared.db.session() as s:
            states = {r.target: r.state for r in (await s.execute(OutboxMessage.__table__.select())).all()}
        assert states[f"webhook:{slow.url}/slow"] == "pending"
        [error] = [r.last_error for r in (await _rows(h)) if r.target.endswith("/slow")]
        assert error == f"{slow.url}/… did not answer in full within 3 s"
    finally:
        await slow.stop()


async def _rows(h: Harness) -> list:
    async with h.bot.shared.db.session() as s:
        return list((await s.execute(OutboxMessage.__table__.select())).all())


async def test_pagerduty_trigger_acknowledge_resolve_share_a_dedup_key(
    harness: Harness, pagerduty: Receiver
) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev1 Payments down")
    await h.tick()
    [dm] = h.emu.dms("U0ONCALL")
    await h.driver.click("U0ONCALL", h.emu.state.open_dm("U0ONCALL").id, dm["ts"], "page_acknowledge")
    await h.idle()
    await h.advance(minutes=30)  # L2 has no PagerDuty key: DMs only
    await h.command(h.alice, channel, "resolve Failed over")
    await _deliver(h)
    events = [r.json for r in pagerduty.delivered()]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {"incident-bot-1-L1"}
    assert {e["routing_key"] for e in events} == {"pd-routing-key-l1"}
    assert (
        events[0]["payload"]["severity"] == "critical" and "Payments down" in events[0]["payload"]["summary"]
    )
    assert all(r.path == "/v2/enqueue" for r in pagerduty.requests)


async def test_an_acknowledgement_after_the_resolution_sends_nothing(
    harness: Harness, pagerduty: Receiver, hooks: Receiver
) -> None:
    h = harness
    team(h)
    channel = await h.declare("sev1 Payments down")
    await h.tick()
    await h.command(h.alice, channel, "resolve Failed over")
    [dm] = h.emu.dms("U0ONCALL")
    await h.driver.click("U0ONCALL", h.emu.state.open_dm("U0ONCALL").id, dm["ts"], "page_acknowledge")
    await h.idle()
    await _deliver(h)
    assert "already resolved" in h.emu.responses[-1]["text"]
    assert [e.json["event_action"] for e in pagerduty.delivered()] == ["trigger", "resolve"]
    assert _events(hooks, "/all") == ["declared", "paged", "resolved"]


async def test_statuspage_publish_update_and_resolve_on_a_click(
    harness: Harness, statuspage: Receiver
) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout errors")
    await h.command(h.alice, channel, "statuspage investigating We are looking into checkout errors")
    [created] = statuspage.requests
    assert (created.method, created.path) == ("POST", "/v1/pages/page123/incidents")
    assert created.headers["Authorization"] == "OAuth sp-api-key"
    body = created.json["incident"]
    assert (body["name"], body["status"], body["body"]) == (
        "Checkout errors", "investigating", "We are looking into checkout errors",
    )  # fmt: skip
    assert body["components"] == {"cmp-checkout": "partial_outage", "cmp-api": "partial_outage"}
    assert any("https://stspg.io/abc" in str(m["blocks"]) for m in h.emu.messages(channel))

    await h.command(h.alice, channel, "statuspage identified The cause is a bad deploy")
    assert (statuspage.requests[-1].method, statuspage.requests[-1].path) == (
        "PATCH", "/v1/pages/page123/incidents/sp-inc-1",
    )  # fmt: skip
    published = len(statuspage.requests)
    await h.command(h.alice, channel, "resolve Rolled back")
    assert len(statuspage.requests) == published, "resolving in Slack publishes nothing by itself"
    [offer] = [m for m in h.emu.messages(channel) if "statuspage_resolve" in str(m.get("blocks"))]
    await h.driver.click(h.bob, channel, offer["ts"], "statuspage_resolve")  # not a responder
    await h.idle()
    assert len(statuspage.requests) == published and "Only responders can" in h.emu.responses[-1]["text"]
    await h.driver.click(h.alice, channel, offer["ts"], "statuspage_resolve")
    await h.idle()
    resolved = statuspage.requests[-1].json["incident"]
    assert resolved["status"] == "resolved"
    assert resolved["components"] == {"cmp-checkout": "operational", "cmp-api": "operational"}
    assert "resolved the <https://stspg.io/abc|public incident>" in str(h.emu.messages(channel))


async def test_statuspage_command_mistakes(harness: Harness, statuspage: Receiver) -> None:
    h = harness
    channel = await h.declare()
    await h.command(h.alice, channel, "statuspage broken Something")
    assert "investigating, identified, monitoring, resolved" in h.emu.ephemerals(h.alice)[-1]["text"]
    statuspage.status = 401
    await h.command(h.alice, channel, "statuspage investigating Looking")
    assert "refused" in h.emu.responses[-1]["text"]


def _serve_error(tmp_path: Path, toml: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    (tmp_path / "incident-bot.toml").write_text(toml)
    full = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", **(env or {})}
    full.pop("INCIDENT_BOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--http"],
        cwd=tmp_path, env=full, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_invalid_integration_config_stops_startup_naming_the_key(tmp_path: Path) -> None:
    bad_url = _serve_error(tmp_path, '[[webhooks]]\nurl = "ftp://x"\nsecret = "longenough"\n')
    assert bad_url.returncode == 2 and "webhooks[0].url" in bad_url.stderr
    assert bad_url.stderr.count("\n") == 1
    no_key = _serve_error(
        tmp_path, '[[escalation.levels]]\nname = "L1"\npagerduty_routing_key = "PD_MISSING_KEY"\n'
    )
    assert no_key.returncode == 2
    assert "escalation.levels[0].pagerduty_routing_key: environment variable PD_MISSING_KEY" in no_key.stderr


async def test_deliveries_from_two_workers_at_once_are_sent_once(harness: Harness, hooks: Receiver) -> None:
    h = harness
    for n in range(5):
        await h.declare(f"sev3 Race {n}")
    await asyncio.gather(*(h.bot.shared.outbox.deliver_due() for _ in range(4)))
    ids = [r.json["event_id"] for r in hooks.requests if r.path == "/all"]
    assert len(ids) == 5 and len(set(ids)) == 5


async def test_pagerduty_hears_a_private_incident_redacted_unless_its_config_opts_in(
    harness: Harness, pagerduty: Receiver, policy_data: dict
) -> None:
    h = harness
    team(h)
    channel = await h.declare("--private sev1 Embargoed breach at Globex")
    await h.tick()
    await h.command(h.alice, channel, "resolve keys rotated")
    await _deliver(h)
    events = [r.json for r in pagerduty.delivered()]
    assert [e["event_action"] for e in events] == ["trigger", "resolve"]
    name = h.emu.state.channel(channel).name
    for event in events:
        text = str(event).lower()
        assert "globex" not in text and "embargoed" not in text and name not in text and channel not in text
    payload = events[0]["payload"]
    assert payload["summary"] == "Private SEV1 incident INC-1"
    assert (payload["severity"], payload["custom_details"]) == ("critical", {"level": "L1", "private": True})

    # `[pagerduty] include_private = true`: this PagerDuty is trusted with what it is.
    trusted = {**policy_data["pagerduty"], "include_private": True}
    h.policy = h.policy_for(**{**policy_data, "pagerduty": trusted})
    await h.restart()
    await h.declare("--private sev1 Embargoed breach at Initech")
    await h.tick()
    await _deliver(h)
    trigger = pagerduty.delivered()[-1].json
    assert trigger["payload"]["summary"] == "SEV1 INC-2: Embargoed breach at Initech"
    assert (
        trigger["payload"]["custom_details"]["channel"]
        == h.emu.state.channel(h.emu.calls_to("conversations.create")[-1].response["channel"]["id"]).name
    )
