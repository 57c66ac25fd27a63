"""The real app, served over HTTP, wired to the Slack emulator: what the end-to-end tests drive."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.runtime import SLACK_PATH, Bot
from config.policy import Policy
from config.policy_file import policy_from_dict
from config.settings import Settings
from runtime.clock import FakeClock
from slack_emulator import SlackDriver, SlackEmulator
from storage.db import async_url

SIGNING_SECRET = "test-signing-secret"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    """Where to create throw-away test databases."""
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


async def create_pg_database() -> str | None:
    """Create a fresh database for this test session; None (or a failure under CI) when unreachable."""
    admin = async_url(postgres_admin_url())
    name = f"incident_bot_test_{os.getpid()}_{secrets.token_hex(3)}"
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI but unreachable at {postgres_admin_url()}: {exc}")
        return None
    finally:
        await engine.dispose()
    return async_url(postgres_admin_url()).rsplit("/", 1)[0] + f"/{name}"


async def drop_pg_database(url: str) -> None:
    """Drop a database made by create_pg_database."""
    name = url.rsplit("/", 1)[1]
    engine = create_async_engine(async_url(postgres_admin_url()), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def truncate_all(url: str) -> None:
    """Empty every table of the shared PostgreSQL test database between tests."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            rows = await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables"
                    " WHERE schemaname='public' AND tablename <> 'alembic_version'"
                )
            )
            tables = [r[0] for r in rows]
            if tables:
                await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@dataclass
class Harness:
    """Emulator + real bot over HTTP + a signed-request driver + a movable clock."""

    database_url: str
    policy_data: dict[str, Any] = field(default_factory=dict)
    clock: FakeClock = field(default_factory=FakeClock)
    token: str | None = None  # ALERTMANAGER_TOKEN

    async def start(self) -> Harness:
        self.emu = SlackEmulator(now=self.clock.timestamp)
        await self.emu.start()
        self.announce = self.emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
        self.general = self.emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
        self.alice = self.emu.add_user("alice", user_id="U0ALICE", real_name="Alice Ops")
        self.bob = self.emu.add_user("bob", user_id="U0BOB", real_name="Bob Lead")
        self.policy = policy_from_dict({"announce_channel": "C0INCIDENTS", **self.policy_data})
        await self._start_bot()
        return self

    def settings(self) -> Settings:
        return Settings(
            slack_bot_token=self.emu.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.emu.base_url,
            database_url=self.database_url,
            alertmanager_token=self.token,
            _env_file=None,
        )

    async def _start_bot(self) -> None:
        self.bot = Bot(self.settings(), self.policy, clock=self.clock, scheduler=False)
        await self.bot.start()
        self.runner = web.AppRunner(self.bot.web_app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self.driver = SlackDriver(self.emu, self.url + SLACK_PATH, SIGNING_SECRET)

    async def _stop_bot(self) -> None:
        await self.driver.close()
        await self.runner.cleanup()
        await self.bot.stop()

    async def restart(self) -> None:
        """Stop the process and start a new one on the same database (state must survive)."""
        await self._stop_bot()
        await self._start_bot()

    async def stop(self) -> None:
        await self._stop_bot()
        await self.emu.stop()

    async def tick(self) -> int:
        """Run what is due at the clock's time, as the scheduler would (its calendar job first)."""
        await self.bot.refresh_calendars()
        handled = await self.bot.tick()
        await self.idle()
        return handled

    async def advance(self, **delta: float) -> None:
        """Move the clock, then tick."""
        self.clock.advance(timedelta(**delta))
        await self.tick()

    async def idle(self) -> None:
        """Wait for the bot's after-ack work."""
        await self.bot.settle()

    async def command(self, user: str, channel: str, text: str) -> Any:
        """Send `/incident <text>` and wait until the bot is done with it."""
        result = await self.driver.command(user, channel, text)
        await self.idle()
        return result

    async def declare(self, text: str = "sev2 Checkout is down", user: str | None = None) -> str:
        """Declare from #general and return the new incident channel's id."""
        seen = len(self.emu.calls_to("conversations.create"))
        await self.command(user or self.alice, self.general, f"declare {text}")
        created = [
            c.response["channel"]["id"]
            for c in self.emu.calls_to("conversations.create")[seen:]
            if c.response.get("ok")
        ]
        assert created, "no channel was created"
        return created[-1]

    def policy_for(self, **data: Any) -> Policy:
        return policy_from_dict({"announce_channel": "C0INCIDENTS", **data})


# People on the escalation levels, as several test modules want them.
LEVELS = {
    "escalation": {
        "levels": [
            {"name": "L1", "title": "On-call engineer", "users": ["U0ONCALL"], "after": "0s"},
            {"name": "L2", "title": "Team lead", "users": ["U0LEAD"], "after": "30m"},
            {"name": "L3", "title": "Engineering manager", "usergroup": "S0MANAGERS", "after": "1h"},
            {"name": "L4", "title": "CTO/VP", "users": ["U0CTO"], "after": "2h"},
        ],
        "reach": {"sev1": "L4", "sev2": "L3", "sev3": "L2", "sev4": "L1"},
    }
}
PEOPLE = {"U0ONCALL": "oncall", "U0LEAD": "lead", "U0EM": "em", "U0CTO": "cto"}


def team(h: Harness) -> None:
    for user_id, name in PEOPLE.items():
        h.emu.add_user(name, user_id=user_id)
    h.emu.add_usergroup("managers", ["U0EM"], group_id="S0MANAGERS")


async def timed_incident(h: Harness, text: str, ack_after: int | None, resolve_after: int | None) -> str:
    """Declare, acknowledge the L1 page after `ack_after` minutes, resolve after `resolve_after`."""
    channel = await h.declare(text)
    await h.tick()
    if ack_after is not None:
        await h.advance(minutes=ack_after)
        dm = h.emu.dms("U0ONCALL")[-1]
        await h.driver.click("U0ONCALL", h.emu.state.open_dm("U0ONCALL").id, dm["ts"], "page_acknowledge")
        await h.idle()
    if resolve_after is not None:
        await h.advance(minutes=resolve_after - (ack_after or 0))
        await h.command(h.alice, channel, "resolve Fixed")
    return channel


async def entry_texts(h: Harness, kind: str) -> list[str]:
    """The texts of every timeline entry of one kind, oldest first."""
    from sqlalchemy import select

    from storage.models import TimelineEntry

    async with h.bot.shared.db.session() as s:
        rows = await s.execute(
            select(TimelineEntry.text).where(TimelineEntry.kind == kind).order_by(TimelineEntry.id)
        )
        return list(rows.scalars())


def paged(h: Harness) -> list[str]:
    """Who got a page DM so far, in order."""
    out = []
    for call in h.emu.calls_to("chat.postMessage"):
        if "You are paged" in str(call.params.get("blocks")):
            opened = h.emu.calls_to("conversations.open")
            [user] = {
                c.params["users"] for c in opened if c.response["channel"]["id"] == call.params["channel"]
            }
            out.append(user)
    return out


async def click_as(h: Harness, user: str, owner: str, action_id: str) -> None:
    """`user` clicks a button of the page DM sent to `owner` (a forwarded or shared page)."""
    import json
    from urllib.parse import urlencode

    from slack_emulator import payloads
    from slack_emulator.render import buttons

    ws = h.emu.state
    ch = ws.open_dm(owner)
    [*_, last] = [m for m in h.emu.dms(owner) if action_id in str(m.get("blocks"))]
    msg = ch.find(last["ts"])
    assert msg is not None
    button = next(b for b in buttons(msg.blocks) if b.action_id == action_id)
    payload = payloads.block_actions(
        ws, user, ch, ws.message_dict(msg), button, ws.response_url(user, ch.id, msg.ts),
        ws.issue_trigger(user), ws.next_ts(), False,
    )  # fmt: skip
    result = await h.driver.post_raw(
        urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    )
    assert result.ok
    await h.idle()


# Alertmanager version-4 payloads.
GROUP_KEY = '{}/{severity="critical"}:{alertname="HighErrorRate"}'


def am_alert(
    instance: str, status: str = "firing", fingerprint: str | None = None, value: str = "7.2%"
) -> dict[str, Any]:
    """`value` changes with every evaluation (as a templated `$value` does), so repeats differ."""
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "instance": instance, "job": "api"},
        "annotations": {
            "summary": "5xx rate above 5% on checkout-api",
            "description": f"<!channel> look: {value}",
        },
        "startsAt": "2026-11-22T02:58:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-22T03:20:00.000Z",
        "generatorURL": f"http://prometheus.example:9090/graph?g0.expr=rate%7Binstance%3D%22{instance}%22%7D",
        "fingerprint": fingerprint or f"fp{instance.replace('-', '')}",
    }


def am_notification(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    """A webhook body as Alertmanager 0.27 sends it."""
    return {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "incident-bot",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "severity": "critical", "job": "api"},
        "commonAnnotations": {"summary": "5xx rate above 5% on checkout-api"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": list(alerts),
    }
