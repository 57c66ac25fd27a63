"""GET /metrics, /healthz and /readyz on the running app."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import LEVELS, Harness, team


@pytest.fixture
def policy_data() -> dict:
    return LEVELS


async def _scrape(h: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as session, session.get(h.url + "/metrics") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_move_with_the_incident_lifecycle(harness: Harness) -> None:
    h = harness
    team(h)
    before = await _scrape(h)
    assert before[("incident_bot_open_incidents", (("severity", "SEV1"),))] == 0
    sev1 = await h.declare("sev1 Payments down")
    await h.declare("sev2 Slow checkout")
    await h.tick()
    h.emu.inject("chat.postMessage", status=429, retry_after=0)
    await h.advance(minutes=3)
    [dm] = h.emu.dms("U0ONCALL")[:1]
    await h.driver.click("U0ONCALL", h.emu.state.open_dm("U0ONCALL").id, dm["ts"], "page_acknowledge")
    await h.advance(minutes=7)
    await h.command(h.alice, sev1, "resolve Failed over")
    ts = await h.driver.say(h.bob, sev1, "late message")
    event = {"type": "reaction_added", "user": h.alice, "reaction": "pushpin", "item_user": h.bob,
             "item": {"type": "message", "channel": sev1, "ts": ts}, "event_ts": ts}  # fmt: skip
    first = await h.driver.send_event(event)
    await h.driver.send_event(event, event_id=first.event_id, retry_num=1)
    await h.idle()

    m = await _scrape(h)
    assert m[("incident_bot_open_incidents", (("severity", "SEV1"),))] == 0
    assert m[("incident_bot_open_incidents", (("severity", "SEV2"),))] == 1
    assert m[("incident_bot_incidents_declared_total", (("severity", "SEV1"),))] == 1
    assert m[("incident_bot_incidents_declared_total", (("severity", "SEV2"),))] == 1
    assert m[("incident_bot_incidents_resolved_total", (("severity", "SEV1"),))] == 1
    assert m[("incident_bot_pages_sent_total", (("level", "L1"),))] == 2
    assert m[("incident_bot_pages_acknowledged_total", (("level", "L1"),))] == 1
    assert m[("incident_bot_time_to_acknowledge_seconds_count", ())] == 1
    assert m[("incident_bot_time_to_acknowledge_seconds_sum", ())] == 180
    assert m[("incident_bot_time_to_resolve_seconds_sum", ())] == 600
    assert m[("incident_bot_slack_api_calls_total", (("method", "conversations.create"),))] == 2
    assert (
        m[
            (
                "incident_bot_slack_api_retries_total",
                (("method", "chat.postMessage"), ("reason", "ratelimited")),
            )
        ]
        == 1
    )
    assert m[("incident_bot_events_deduplicated_total", ())] == 1
    assert m[("incident_bot_request_duration_seconds_count", (("kind", "command"),))] >= 3
    assert m[("incident_bot_request_duration_seconds_count", (("kind", "event"),))] >= 2
    assert m[("incident_bot_request_duration_seconds_count", (("kind", "block_actions"),))] == 1


async def test_slack_errors_are_counted_by_method_and_error(harness: Harness) -> None:
    h = harness
    h.emu.inject("conversations.setTopic", error="not_in_channel")
    await h.declare()
    m = await _scrape(h)
    key = (
        "incident_bot_slack_api_errors_total",
        (("error", "not_in_channel"), ("method", "conversations.setTopic")),
    )
    assert m[key] == 1


async def test_health_and_readiness(harness: Harness) -> None:
    h = harness
    async with aiohttp.ClientSession() as session:
        h.emu.inject("auth.test", error="invalid_auth")
        async with session.get(h.url + "/readyz") as resp:
            assert resp.status == 503 and "auth.test" in (await resp.json())["status"]
        async with session.get(h.url + "/healthz") as resp:
            assert resp.status == 200
        async with session.get(h.url + "/readyz") as resp:
            assert resp.status == 200
        await h.bot.shared.db.engine.dispose()
        h.bot.shared.db.engine.pool._creator = _refuse  # type: ignore[attr-defined]
        async with session.get(h.url + "/readyz") as resp:
            assert resp.status == 503 and "database" in (await resp.json())["status"]
        async with session.get(h.url + "/healthz") as resp:
            assert resp.status == 200, "liveness does not depend on the database"


def _refuse(*_args: object) -> object:
    raise ConnectionRefusedError("database is down")


async def _ack_first_page(h: Harness, user: str) -> None:
    dm = h.emu.dms(user)[-1]
    await h.driver.click(user, h.emu.state.open_dm(user).id, dm["ts"], "page_acknowledge")
    await h.idle()


async def test_stats_report_mtta_and_mttr_from_recorded_times(harness: Harness) -> None:
    import asyncio
    import json
    import os
    import sys

    h = harness
    team(h)
    plan = [("sev1 One", 3, 40), ("sev1 Two", 5, 60), ("sev2 Three", None, 20)]
    for text, ack_after, resolve_after in plan:
        channel = await h.declare(text)
        await h.tick()
        if ack_after:
            await h.advance(minutes=ack_after)
            await _ack_first_page(h, "U0ONCALL")
            await h.advance(minutes=resolve_after - ack_after)
        else:
            await h.advance(minutes=resolve_after)
        await h.command(h.alice, channel, "resolve Fixed")
    await h.declare("sev3 Still open")

    env = {**os.environ, "DATABASE_URL": h.database_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "stats", "--since", "3650d", "--format", "json",
        env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    data = json.loads(out)
    sev1 = data["by_severity"]["SEV1"]
    assert (sev1["declared"], sev1["resolved"], sev1["open"]) == (2, 2, 0)
    assert (sev1["mtta_p50"], sev1["mtta_p90"]) == (240, 288)
    assert (sev1["mttr_p50"], sev1["mttr_p90"]) == (3000, 3480)
    assert data["by_severity"]["SEV2"]["mtta_p50"] is None and data["by_severity"]["SEV2"]["mttr_p50"] == 1200
    assert (data["all"]["declared"], data["all"]["open"]) == (4, 1)
    paged = {row["user"]: row["pages"] for row in data["pages_by_person"]}
    assert paged["U0ONCALL"] == 3, "L1 was paged once for each incident the clock moved past"
    assert paged.get("U0LEAD") == 2, "L2 (30 min) for the two SEV1s that lasted longer"

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "stats", "--since", "3650d", env=env, stdout=asyncio.subprocess.PIPE
    )
    table, _ = await proc.communicate()
    lines = table.decode().splitlines()
    assert lines[2].split()[:2] == ["Severity", "Declared"]
    assert lines[3].split() == ["SEV1", "2", "0", "2", "4m", "4m", "50m", "58m"]


async def test_a_tick_skipped_while_the_last_one_runs_is_not_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.scheduler import Ticker
    from runtime import logs

    async def slow() -> None:
        await asyncio.sleep(0.4)

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure()
        root.addHandler(caplog.handler)  # configure() replaced the root's handlers
        ticker = Ticker(slow, interval=0.05)
        ticker.start()
        await asyncio.sleep(0.6)
        ticker.shutdown()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    skipped = [r for r in caplog.records if r.name.startswith("apscheduler")]
    assert skipped == [], [r.getMessage() for r in skipped]
