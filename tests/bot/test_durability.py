"""What the bot answered 200 to survives SIGKILL, database cuts and replicas: once, and in order.

Real `incident-bot serve` processes, spoken to only as Slack would (signed HTTP, retries of events
that were not acknowledged), against the emulator; effects are counted in the database afterwards.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from slack_emulator import SlackDriver, SlackEmulator
from slack_emulator.models import TEAM_ID
from slack_emulator.payloads import message_event
from storage.db import Database
from storage.models import TimelineEntry
from storage.repositories import IncidentRepo
from tests.harness import truncate_all
from tests.processes import kill, serve, terminate
from tests.slack_spec import assert_calls_conform

SECRET = "durability-signing-secret"
POLICY = """\
announce_channel = "C0INCIDENTS"

[[escalation.levels]]
name = "L1"
title = "On-call engineer"
users = ["U0ONCALL"]
after = "0s"
"""
SENDERS = 16
PER_SENDER = 24


@pytest.fixture
async def pg_url(pg_database: str | None) -> str:
    """The session's PostgreSQL test database, emptied; the test is skipped without PostgreSQL."""
    if pg_database is None:
        pytest.skip("PostgreSQL not reachable at TEST_DATABASE_URL or 127.0.0.1:5432 (required under CI)")
    await truncate_all(pg_database)
    return pg_database


@dataclass
class Ledger:
    """What each sender got a 200 for, in the order it was acknowledged."""

    acked: dict[int, list[str]] = field(default_factory=dict)
    unacked_notes: set[str] = field(default_factory=set)


def _workspace(emu: SlackEmulator) -> tuple[str, str, str]:
    emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
    general = emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
    alice = emu.add_user("alice", user_id="U0ALICE")
    scribe = emu.add_user("scribe", user_id="U0SCRIBE")
    emu.add_user("oncall", user_id="U0ONCALL")
    return general, alice, scribe


async def _incident_with_scribe(emu: SlackEmulator, url: str, general: str, alice: str, scribe: str) -> str:
    async with SlackDriver(emu, url, SECRET) as slack:
        assert (await slack.command(alice, general, "declare sev2 Flood test")).ok
        channel = await emu.wait_for(
            lambda: next((c.id for c in emu.state.channels.values() if c.name.startswith("incident-")), None),
            timeout=15,
        )
        await emu.wait_for(lambda: emu.pins(channel), timeout=15)
        assert (await slack.command(alice, channel, f"scribe <@{scribe}|scribe>")).ok
        await emu.wait_for(lambda: any("scribe" in m.get("text", "") for m in emu.messages(channel)), 15)
    return str(channel)


async def _sender(
    k: int, emu: SlackEmulator, urls: list[str], channel: str, scribe: str, alice: str, ledger: Ledger
) -> None:
    """Scribe messages (retried as Slack retries an event) with a note command every sixth item."""
    ledger.acked[k] = []
    ch = emu.channel(channel)
    assert ch is not None
    drivers = [SlackDriver(emu, url, SECRET) for url in urls]
    try:
        for n in range(PER_SENDER):
            driver = drivers[n % len(drivers)]
            label = f"s{k}-{n}"
            if n % 6 == 5:
                try:
                    result = await driver.command(alice, channel, f"note note {label}")
                    if result.ok:
                        ledger.acked[k].append(f"note {label}")
                        continue
                except aiohttp.ClientError:
                    pass
                ledger.unacked_notes.add(f"note {label}")  # a person would try again; we move on
                await asyncio.sleep(0.05)
                continue
            msg = emu.state.add_message(ch, scribe, f"msg {label}", log=False)
            event = message_event(emu.state, ch, emu.state.message_dict(msg))
            event_id, attempt = None, 0
            while True:
                try:
                    result = await drivers[(n + attempt) % len(drivers)].send_event(
                        event, event_id=event_id, retry_num=attempt or None
                    )
                    event_id = result.event_id
                    if result.ok:
                        ledger.acked[k].append(f"msg {label}")
                        break
                except aiohttp.ClientError:
                    pass
                event_id = event_id or f"EvFlood{k:02d}{n:03d}"
                attempt += 1
                await asyncio.sleep(0.05 * min(attempt, 10))
    finally:
        for d in drivers:
            await d.close()


async def _timeline(database_url: str, channel: str) -> list[TimelineEntry]:
    db = Database(database_url)
    try:
        async with db.session() as s:
            incident = await IncidentRepo(s, TEAM_ID).by_channel(channel)
            assert incident is not None
            rows = await s.execute(
                TimelineEntry.__table__.select().where(TimelineEntry.incident_id == incident.id)
            )
            return [TimelineEntry(**dict(r._mapping)) for r in rows]
    finally:
        await db.dispose()


async def _wait_for_effects(database_url: str, channel: str, ledger: Ledger, timeout: float = 30) -> None:
    """Until every acknowledged item's effect is there (or time is up: the check then says what is not)."""
    wanted = {item for items in ledger.acked.values() for item in items}
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if wanted <= {e.text for e in await _timeline(database_url, channel)}:
            return
        await asyncio.sleep(0.2)


def _check_once_and_in_order(entries: list[TimelineEntry], ledger: Ledger, why: str) -> None:
    made = sorted((e for e in entries if e.kind in ("scribe", "note")), key=lambda e: e.id)
    texts = [e.text for e in made]
    doubled = {t for t in texts if texts.count(t) > 1}
    assert not doubled, f"{why}: effects happened twice: {sorted(doubled)[:10]}"
    for k, acked in ledger.acked.items():
        missing = [item for item in acked if item not in texts]
        assert not missing, f"{why}: sender {k} got 200 for {missing[:5]} but they never happened"
        mine = [t for t in texts if f" s{k}-" in t]
        acked_order = [t for t in mine if t in acked]
        assert acked_order == acked, f"{why}: sender {k} out of order: {acked_order} vs {acked}"
    extra = set(texts) - {i for a in ledger.acked.values() for i in a} - ledger.unacked_notes
    assert not extra, f"{why}: effects nobody asked for: {sorted(extra)[:5]}"


async def _flood_through(
    emu: SlackEmulator, url: str, channel: str, database_url: str, disturb: Callable[[Ledger], Awaitable[str]]
) -> None:
    """16 senders flood the incident while `disturb` does its worst; then every acknowledged item's
    effect must be there once, in each sender's order, and nothing else."""
    ledger = Ledger()
    senders = asyncio.gather(
        *(_sender(k, emu, [url], channel, "U0SCRIBE", "U0ALICE", ledger) for k in range(SENDERS))
    )
    why = await disturb(ledger)
    await asyncio.wait_for(senders, timeout=120)
    await _wait_for_effects(database_url, channel, ledger)
    await asyncio.sleep(1)  # anything left to double would show by now
    _check_once_and_in_order(await _timeline(database_url, channel), ledger, why)


@pytest.mark.parametrize("seed", [1, 2])
async def test_sigkill_under_a_flood_loses_doubles_and_reorders_nothing(
    tmp_path: Path, database_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    async with SlackEmulator() as emu:
        general, alice, scribe = _workspace(emu)
        proc, port = await serve(emu, tmp_path, SECRET, database_url=database_url)
        url = f"http://127.0.0.1:{port}/slack/events"

        async def kill_and_restart(ledger: Ledger) -> str:
            nonlocal proc
            kills = []
            # Kill mid-traffic: a loaded machine may take a while to acknowledge the first message.
            await emu.wait_for(lambda: any(ledger.acked.values()), timeout=60)
            for _ in range(3):
                await asyncio.sleep(rng.uniform(0.2, 1.2))
                kills.append(sum(len(a) for a in ledger.acked.values()))
                await kill(proc)
                proc, _ = await serve(emu, tmp_path, SECRET, database_url=database_url, port=port)
            assert kills[0] > 0, f"seed {seed}: the first kill came before any traffic"
            return f"seed {seed}, killed after {kills} acknowledged"

        try:
            channel = await _incident_with_scribe(emu, url, general, alice, scribe)
            await _flood_through(emu, url, channel, database_url, kill_and_restart)
        finally:
            await terminate(proc)
    assert_calls_conform(emu.calls)


async def test_a_declaration_acknowledged_then_sigkill_ends_with_one_channel_post_and_page(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    async with SlackEmulator() as emu:
        general, alice, _ = _workspace(emu)
        proc, port = await serve(emu, tmp_path, SECRET, database_url=database_url)
        try:
            emu.latency = 0.2  # Slack is slow: the kill lands in the middle of the declaration
            async with SlackDriver(emu, f"http://127.0.0.1:{port}/slack/events", SECRET) as slack:
                assert (await slack.command(alice, general, "declare sev1 Payments are down")).ok
            await emu.wait_for(lambda: emu.calls_to("conversations.create"), timeout=10)
            await kill(proc)
            emu.latency = 0.0
            proc, _ = await serve(emu, tmp_path, SECRET, database_url=database_url, port=port)
            page = lambda: [m for m in emu.dms("U0ONCALL") if "You are paged" in str(m.get("blocks"))]  # noqa: E731
            await emu.wait_for(page, timeout=20)
            channels = [c for c in emu.state.channels.values() if c.name.startswith("incident-")]
            await emu.wait_for(lambda: channels and emu.pins(channels[0].id), timeout=20)
            await asyncio.sleep(1.5)  # a retry that would double shows by now
        finally:
            await terminate(proc)
        channels = [c for c in emu.state.channels.values() if c.name.startswith("incident-")]
        assert len(channels) == 1, [c.name for c in channels]
        posts = [m for m in emu.messages(channels[0].id) if m.get("bot_id")]
        assert len(posts) == 1 and "Payments are down" in posts[0]["text"], posts
        assert len(emu.pins(channels[0].id)) == 1
        assert len(page()) == 1
        assert len([m for m in emu.messages("C0INCIDENTS") if m.get("bot_id")]) == 1


async def test_two_replicas_keep_one_incidents_requests_in_order_and_once(
    tmp_path: Path, pg_url: str
) -> None:
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    async with SlackEmulator() as emu:
        general, alice, scribe = _workspace(emu)
        replicas = [await serve(emu, tmp_path, SECRET, database_url=pg_url) for _ in range(2)]
        urls = [f"http://127.0.0.1:{port}/slack/events" for _, port in replicas]
        try:
            channel = await _incident_with_scribe(emu, urls[0], general, alice, scribe)
            emu.latency = 0.01
            drivers = [SlackDriver(emu, u, SECRET) for u in urls]
            for n in range(12):
                assert (await drivers[n % 2].command(alice, channel, f"update step {n}")).ok
            assert (await drivers[0].command(alice, channel, "resolve Done")).ok
            for d in drivers:
                await d.close()
            await emu.wait_for(
                lambda: any("resolved" in m.get("text", "").lower() for m in emu.messages(channel)), 30
            )
            await asyncio.sleep(1)
        finally:
            for proc, _ in replicas:
                await terminate(proc)
        posts = [m["text"] for m in emu.messages(channel) if m.get("bot_id")]
        steps = [p for p in posts if "step " in p or "resolved" in p.lower()]
        order = [
            next((f"step {n}" for n in range(12) if f"step {n}:" in p or p.endswith(f"step {n}")), p)
            for p in steps
        ]
        expected = [f"step {n}" for n in range(12)]
        assert [o for o in order if o.startswith("step")] == expected, steps
        assert len(steps) == 13 and "resolved" in steps[-1].lower(), steps


async def test_postgres_connections_cut_mid_flood_lose_nothing_acknowledged(
    tmp_path: Path, pg_url: str
) -> None:
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    async with SlackEmulator() as emu:
        general, alice, scribe = _workspace(emu)
        proc, port = await serve(emu, tmp_path, SECRET, database_url=pg_url)
        url = f"http://127.0.0.1:{port}/slack/events"

        async def cut_connections(_ledger: Ledger) -> str:
            cuts = 0
            for _ in range(3):
                await asyncio.sleep(0.4)
                cuts += await _terminate_backends(pg_url)
            assert cuts > 0, "no connection was cut"
            return f"{cuts} connections cut"

        try:
            channel = await _incident_with_scribe(emu, url, general, alice, scribe)
            await _flood_through(emu, url, channel, pg_url, cut_connections)
        finally:
            await terminate(proc)


async def _terminate_backends(url: str) -> int:
    """End every server connection to the test database but this one; returns how many."""
    db = Database(url)
    try:
        async with db.session() as s:
            rows = await s.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return len(rows.all())
    finally:
        await db.dispose()


async def test_sigterm_finishes_the_step_in_flight_and_leaves_the_rest_for_the_next_start(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    async with SlackEmulator() as emu:
        general, alice, scribe = _workspace(emu)
        proc, port = await serve(emu, tmp_path, SECRET, database_url=database_url)
        url = f"http://127.0.0.1:{port}/slack/events"
        try:
            channel = await _incident_with_scribe(emu, url, general, alice, scribe)
            emu.latency = 0.25  # each update takes a few Slack round trips
            async with SlackDriver(emu, url, SECRET) as slack:
                for n in range(12):
                    assert (await slack.command(alice, channel, f"update step {n}")).ok
            started = asyncio.get_running_loop().time()
            code = await terminate(proc)
            took = asyncio.get_running_loop().time() - started
            assert code == 0 and took < 25, (code, took)
            assert not emu.dropped, f"a call was cut off half-way: {emu.dropped}"
            posted = [m["text"] for m in emu.messages(channel) if "step " in m.get("text", "")]
            assert len(posted) < 12, "SIGTERM waited for everything instead of leaving it for the next start"
            emu.latency = 0.0
            proc, _ = await serve(emu, tmp_path, SECRET, database_url=database_url, port=port)
            await emu.wait_for(
                lambda: len([m for m in emu.messages(channel) if "step " in m.get("text", "")]) >= 12, 20
            )
            await asyncio.sleep(1)
        finally:
            await terminate(proc)
        posted = [m["text"] for m in emu.messages(channel) if "step " in m.get("text", "")]
        steps = [next(f"step {n}" for n in range(11, -1, -1) if f"step {n}" in t) for t in posted]
        assert steps == [f"step {n}" for n in range(12)], posted


async def test_an_alert_declaration_cut_by_sigkill_is_taken_over_after_the_lease_with_one_channel(
    tmp_path: Path, database_url: str
) -> None:
    from tests.harness import am_alert, am_notification

    token = "durability-am-token"
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    env = {"ALERTMANAGER_TOKEN": token}

    async def alert(port: int, body: dict[str, object]) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.post(
            f"http://127.0.0.1:{port}/webhooks/alertmanager",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:  # fmt: skip
            return resp.status, (await resp.json())["status"]

    async with SlackEmulator() as emu:
        _workspace(emu)
        proc, port = await serve(emu, tmp_path, SECRET, database_url=database_url, extra_env=env)
        loop = asyncio.get_running_loop()
        try:
            emu.latency = 0.3  # Slack is slow: the kill lands after the channel exists, before the post
            assert await alert(port, am_notification(am_alert("api-1"))) == (200, "accepted")
            await emu.wait_for(lambda: emu.calls_to("conversations.create"), timeout=10)
            await kill(proc)
            killed_at = loop.time()
            emu.latency = 0.0
            proc, _ = await serve(emu, tmp_path, SECRET, database_url=database_url, port=port, extra_env=env)
            # The dead replica's claim is still fresh: the next notification is stored, not refused
            # with a "being declared" 200 that Alertmanager would never retry.
            regroup = am_notification(am_alert("api-1"), am_alert("api-2"))
            assert await alert(port, regroup) == (200, "accepted")

            def incident_channels() -> list[str]:
                return [c.id for c in emu.state.channels.values() if c.name.startswith("incident-")]

            def posted(text: str) -> bool:
                return any(text in str(m.get("blocks")) for c in incident_channels() for m in emu.messages(c))

            await emu.wait_for(lambda: posted("Alerts firing (Alertmanager)"), timeout=40)
            taken_over_after = loop.time() - killed_at
            await emu.wait_for(lambda: posted("1 new alert(s) firing"), timeout=20)
            page = lambda: [m for m in emu.dms("U0ONCALL") if "You are paged" in str(m.get("blocks"))]  # noqa: E731
            await emu.wait_for(page, timeout=20)
            await asyncio.sleep(1.5)  # a retry that would double shows by now
        finally:
            await terminate(proc)
        if "postgresql" in database_url:  # SQLite's single process frees its claims at start instead
            assert taken_over_after > 5, f"taken over {taken_over_after:.1f}s after the kill: no lease"
        [channel] = incident_channels()
        posts = [str(m.get("blocks")) for m in emu.messages(channel) if m.get("bot_id")]
        assert len(posts) == 2 and "instance=api-2" in posts[1], posts
        assert len(page()) == 1
        assert len([m for m in emu.messages("C0INCIDENTS") if m.get("bot_id")]) == 1
        db = Database(database_url)
        try:
            async with db.session() as s:
                incidents = (await s.execute(text("SELECT id, channel_id FROM incidents"))).all()
                linked = (await s.execute(text("SELECT incident_id FROM alert_groups"))).scalars().all()
        finally:
            await db.dispose()
        assert [tuple(r) for r in incidents] == [(linked[0], channel)] and len(linked) == 1
    assert_calls_conform(emu.calls)
