"""OAuth: two workspaces installed into one running app through "Add to Slack", then incidents,
events and pages in both without crossing; uninstall and reinstall; tokens encrypted at rest."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from bot import teams
from bot.runtime import SLACK_PATH, Bot
from config.errors import ConfigError
from config.policy_file import policy_from_dict
from config.settings import Settings
from runtime.clock import FakeClock
from services import stats
from services.timeline import load_postmortem
from slack_emulator.driver import SlackDriver
from slack_emulator.server import SlackEmulator
from storage.models import Incident, slack_bots

SECRET = "test-signing-secret"
CLIENT_ID, CLIENT_SECRET, STATE_SECRET = "1111.2222", "client-secret-abc", "state-secret-xyz"
KEY = Fernet.generate_key().decode()
ALPHA, BRAVO, GRID = "T0ALPHA", "T0BRAVO", "E0GRID"
# slack_sdk sends oauth.v2.access's client credentials with aiohttp's BasicAuth, which aiohttp deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _people(emu: SlackEmulator, team: str) -> dict[str, str]:
    """Each workspace's own people and channels (ids unique across the emulator)."""
    ws = emu.workspace(team)
    tag = team[2]  # A or B
    ids = {
        "alice": ws.add_user("alice", user_id=f"U0{tag}ALICE"),
        "carol": ws.add_user("carol", user_id=f"U0{tag}CAROL"),
        "oncall": ws.add_user("oncall", user_id=f"U0{tag}ONCALL"),
        "lead": ws.add_user("lead", user_id=f"U0{tag}LEAD"),
    }
    ids["general"] = ws.add_channel("general", channel_id=f"C0{tag}GENERAL", members=[ws.bot_user_id])
    ids["incidents"] = ws.add_channel("incidents", channel_id=f"C0{tag}INC", members=[ws.bot_user_id])
    return ids


def _policy(people: dict[str, dict[str, str]]) -> dict[str, Any]:
    def levels(p: dict[str, str]) -> dict[str, Any]:
        return {
            "levels": [
                {"name": "L1", "users": [p["oncall"]], "after": "0s"},
                {"name": "L2", "users": [p["lead"]], "after": "30m"},
            ]
        }

    return {
        "workspaces": {
            team: {"announce_channel": p["incidents"], "escalation": levels(p)} for team, p in people.items()
        }
    }


@dataclass
class Installed:
    """The emulator with two workspaces and the real bot in OAuth mode over HTTP."""

    database_url: str
    clock: FakeClock = field(default_factory=FakeClock)
    top: dict[str, Any] = field(default_factory=dict)  # more top-level policy keys
    own: dict[str, dict[str, Any]] = field(default_factory=dict)  # more keys of each workspace's table

    async def start(self) -> Installed:
        self.emu = await SlackEmulator(now=self.clock.timestamp).start()
        self.emu.register_app(CLIENT_ID, CLIENT_SECRET)
        self.people: dict[str, dict[str, str]] = {}
        # Bravo is a workspace of an Enterprise Grid organisation, installed on its own.
        for team, name, org in ((ALPHA, "Alpha Corp", None), (BRAVO, "Bravo Inc", GRID)):
            self.emu.add_workspace(team, name, enterprise_id=org)
            self.people[team] = _people(self.emu, team)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = _policy(self.people)
        for team, more in self.own.items():
            data["workspaces"][team].update(more)
        self.policy = policy_from_dict({**data, **self.top})
        await self._start_bot()
        return self

    def settings(self) -> Settings:
        return Settings(
            slack_signing_secret=SECRET,
            slack_api_url=self.emu.base_url,
            database_url=self.database_url,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
            slack_state_secret=STATE_SECRET,
            incident_bot_encryption_key=KEY,
            incident_bot_public_url=self.url,
            _env_file=None,
        )

    async def _start_bot(self) -> None:
        self.bot = Bot(self.settings(), self.policy, clock=self.clock, scheduler=False)
        await self.bot.start()
        self.runner = web.AppRunner(self.bot.web_app(), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.drivers = {
            t: SlackDriver(self.emu, self.url + SLACK_PATH, SECRET, team=t) for t in (ALPHA, BRAVO)
        }

    async def stop(self) -> None:
        for driver in self.drivers.values():
            await driver.close()
        await self.runner.cleanup()
        await self.bot.stop()
        await self.emu.stop()

    async def install(self, team: str) -> None:
        result = await self.drivers[team].install(
            self.url + "/slack/install", user=self.people[team]["alice"]
        )
        assert result.ok, result.body

    async def declare(self, team: str, text: str) -> str:
        p, seen = self.people[team], len(self.emu.calls_for(team))
        await self.drivers[team].command(p["alice"], p["general"], f"declare {text}")
        await self.bot.settle()
        made = [c for c in self.emu.calls_for(team)[seen:] if c.method == "conversations.create"]
        assert made and made[-1].response.get("ok"), f"no channel was created in {team}"
        return str(made[-1].response["channel"]["id"])

    async def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))
        await self.bot.tick()
        await self.bot.settle()


@pytest.fixture
async def installed(database_url: str) -> AsyncIterator[Installed]:
    i = await Installed(database_url).start()
    try:
        yield i
    finally:
        await i.stop()
    from tests.slack_spec import assert_calls_conform

    assert_calls_conform(i.emu.calls)


def _texts(calls: list[Any]) -> str:
    return " ".join(str(c.params) for c in calls)


async def test_two_workspaces_install_declare_and_page_without_crossing(
    installed: Installed, caplog: pytest.LogCaptureFixture
) -> None:
    i = installed
    a, b = i.people[ALPHA], i.people[BRAVO]
    for team in (ALPHA, BRAVO):
        await i.install(team)

    # Tokens at rest: ciphertext that this key opens and another key does not.
    async with i.bot.shared.db.session() as s:
        stored = {row.team_id: row.bot_token for row in (await s.execute(select(slack_bots))).all()}
    assert set(stored) == {ALPHA, BRAVO}
    async with i.bot.shared.db.session() as s:
        orgs = {row.team_id: row.enterprise_id for row in (await s.execute(select(slack_bots))).all()}
    assert orgs == {ALPHA: None, BRAVO: GRID}
    for team, sealed in stored.items():
        real = i.emu.tokens_of(team)[-1]
        assert real not in sealed and not sealed.startswith("xox")
        assert Fernet(KEY.encode()).decrypt(sealed.encode()).decode() == real
        with pytest.raises(InvalidToken):
            Fernet(Fernet.generate_key()).decrypt(sealed.encode())

    alpha_channel = await i.declare(ALPHA, "sev1 Alpha checkout is down")
    bravo_channel = await i.declare(BRAVO, "sev2 Bravo login is slow")
    assert i.emu.workspace_of(alpha_channel).team_id == ALPHA
    assert i.emu.workspace_of(bravo_channel).team_id == BRAVO
    assert "Bravo" not in _texts(i.emu.calls_for(ALPHA)) and "Alpha" not in _texts(i.emu.calls_for(BRAVO))
    # Each workspace's announce channel (its own policy) and its own INC-1.
    assert any("Alpha checkout" in str(m) for m in i.emu.messages(a["incidents"]))
    assert any("Bravo login" in str(m) for m in i.emu.messages(b["incidents"]))
    async with i.bot.shared.db.session() as s:
        rows = list((await s.execute(select(Incident).order_by(Incident.id))).scalars())
    assert [(r.team_id, r.enterprise_id, r.number) for r in rows] == [(ALPHA, None, 1), (BRAVO, GRID, 1)]

    # Events: a message in Alpha's channel feeds Alpha's timeline only.
    ts = await i.drivers[ALPHA].say(a["alice"], alpha_channel, "rolled back deploy 7")
    await i.drivers[ALPHA].react(a["alice"], alpha_channel, ts, "pushpin")
    await i.bot.settle()
    alpha = await load_postmortem(i.bot.shared.db, ALPHA, "INC-1")
    bravo = await load_postmortem(i.bot.shared.db, BRAVO, "INC-1")
    assert (
        alpha
        and bravo
        and alpha.incident.title.startswith("Alpha")
        and bravo.incident.title.startswith("Bravo")
    )
    assert any("rolled back deploy 7" in e.text for e in alpha.entries)
    assert not any("rolled back deploy 7" in e.text for e in bravo.entries)

    # Pages: each workspace's L1, by its own token.
    await i.advance(seconds=1)
    assert i.emu.dms(a["oncall"]) and i.emu.dms(b["oncall"])
    assert "Bravo" not in str(i.emu.dms(a["oncall"])) and "Alpha" not in str(i.emu.dms(b["oncall"]))

    # Lists and counts stay in their workspace.
    await i.drivers[ALPHA].command(a["carol"], a["general"], "list")
    await i.bot.settle()
    listed = str(i.emu.workspace(ALPHA).responses[-1])
    assert "Alpha checkout" in listed and "Bravo" not in listed
    since = datetime.now(UTC) - timedelta(days=400)
    assert [x.title for x in await stats.load(i.bot.shared.db, ALPHA, since)] == ["Alpha checkout is down"]

    # Uninstall Bravo: its tokens go, its escalation stops (with a log line) while Alpha's goes on.
    with caplog.at_level(logging.WARNING):
        await i.drivers[BRAVO].uninstall()
        await i.bot.settle()
    assert any(BRAVO in r.getMessage() and "uninstalled" in r.getMessage() for r in caplog.records)
    async with i.bot.shared.db.session() as s:
        teams_left = [row.team_id for row in (await s.execute(select(slack_bots))).all()]
    assert teams_left == [ALPHA]
    bravo_calls = len(i.emu.calls_for(BRAVO))
    await i.advance(minutes=31)
    assert i.emu.dms(a["lead"]), "Alpha's L2 is paged on time"
    assert len(i.emu.calls_for(BRAVO)) == bravo_calls and not i.emu.dms(b["lead"])
    # The command line names the workspace once there are several.
    with pytest.raises(ConfigError, match=f"several workspaces \\({ALPHA}, {BRAVO}\\)"):
        await teams.pick(i.bot.shared.db, None)
    assert await teams.pick(i.bot.shared.db, BRAVO) == BRAVO

    # Reinstall: Bravo picks up where it left off (its L2 was due meanwhile).
    await i.install(BRAVO)
    await i.advance(seconds=1)
    assert i.emu.dms(b["lead"]) and "Bravo login" in str(i.emu.dms(b["lead"]))


async def test_a_request_from_a_workspace_that_never_installed_changes_nothing(installed: Installed) -> None:
    i = installed
    await i.install(ALPHA)
    b = i.people[BRAVO]
    before = len(i.emu.calls)
    result = await i.drivers[BRAVO].command(b["alice"], b["general"], "declare sev1 Not installed here")
    await i.bot.settle()
    assert result.ok  # Bolt answers, telling the user to install the app
    assert not [c for c in i.emu.calls[before:] if c.method == "conversations.create"]
    async with i.bot.shared.db.session() as s:
        assert (await s.execute(select(Incident))).first() is None


async def test_a_database_from_before_workspaces_is_the_token_workspaces(database_url: str) -> None:
    """Single-token mode after the upgrade: the old incident is the token's workspace's INC-1, and
    the next one is INC-2 there."""
    from alembic import command
    from sqlalchemy import text

    from storage import migrate
    from storage.db import Database
    from tests.harness import Harness

    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            if not db.is_sqlite:  # the shared test database is at head: start it over at 0009
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await conn.run_sync(lambda sync: command.upgrade(migrate._alembic_config(sync), "0009"))
            await conn.execute(
                text(
                    "INSERT INTO incidents (channel_id, channel_name, title, severity, status, declared_at,"
                    " commander_id, declared_by) VALUES ('C0OLD', 'incident-old', 'Old outage', 'SEV2',"
                    " 'investigating', '2026-11-01 10:00:00.000000', 'U0ALICE', 'U0ALICE')"
                )
            )
    finally:
        await db.dispose()
    h = await Harness(database_url).start()
    try:
        await h.tick()  # auth.test names the token's workspace, which adopts the old rows
        old = await load_postmortem(h.bot.shared.db, "T0EMU", "INC-1")
        assert old is not None and old.incident.title == "Old outage"
        await h.declare("sev3 New trouble")
        new = await load_postmortem(h.bot.shared.db, "T0EMU", "INC-2")
        assert new is not None and new.incident.title == "New trouble"
    finally:
        await h.stop()


async def test_declarations_at_once_take_the_next_numbers_without_a_retry(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    from tests.harness import Harness

    h = await Harness(database_url).start()
    try:
        with caplog.at_level(logging.WARNING):
            titles = [f"sev3 Trouble number {n}" for n in range(6)]
            await asyncio.gather(*(h.driver.command(h.alice, h.general, f"declare {t}") for t in titles))
            await h.idle()
        async with h.bot.shared.db.session() as s:
            numbers = sorted(r.number for r in (await s.execute(select(Incident))).scalars())
        assert numbers == [1, 2, 3, 4, 5, 6]
        assert not [r for r in caplog.records if "failed (attempt" in r.getMessage()]
    finally:
        await h.stop()


async def test_a_workspace_adds_and_replaces_workflows_of_the_top_level(database_url: str) -> None:
    everyone = {
        "name": "everyone",
        "on": "declared",
        "do": [{"post": "Top says: bridge for {{ incident.number }}"}],
    }
    extra = {"name": "alpha-extra", "on": "declared", "do": [{"post": "Alpha's extra step"}]}
    instead = {"name": "everyone", "on": "declared", "do": [{"post": "Bravo's own bridge"}]}
    i = await Installed(
        database_url,
        top={"workflows": [everyone]},
        own={ALPHA: {"workflows": [extra]}, BRAVO: {"workflows": [instead]}},
    ).start()
    try:
        for team in (ALPHA, BRAVO):
            await i.install(team)
        alpha, bravo = (
            await i.declare(ALPHA, "sev2 Alpha is slow"),
            await i.declare(BRAVO, "sev2 Bravo is slow"),
        )
        await i.advance(seconds=1)
        said = {ch: " ".join(m.get("text") or "" for m in i.emu.messages(ch)) for ch in (alpha, bravo)}
        assert "Top says: bridge for INC-1" in said[alpha] and "Alpha's extra step" in said[alpha], "added"
        assert "Bravo's own bridge" in said[bravo] and "Top says" not in said[bravo], "replaced by name"
    finally:
        await i.stop()
