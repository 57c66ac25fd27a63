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
from config.policy import Policy, policy_from_dict
from config.settings import Settings
from services.clock import FakeClock
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
        """Run what is due at the clock's time, as the scheduler would."""
        handled = await self.bot.ctx.tick()
        await self.idle()
        return handled

    async def advance(self, **delta: float) -> None:
        """Move the clock, then tick."""
        self.clock.advance(timedelta(**delta))
        await self.tick()

    async def idle(self) -> None:
        """Wait for the bot's after-ack work."""
        await self.bot.ctx.settle()

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
