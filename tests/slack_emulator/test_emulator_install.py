"""SlackDriver against a real Bolt AsyncApp installed with OAuth: "Add to Slack" in one workspace of
several, payloads carrying that workspace, and uninstalling."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackDriver, SlackDriverError, SlackEmulator
from slack_emulator.state import Workspace

SECRET = "install-test-signing-secret"
CLIENT_ID = "1234.5678"
CLIENT_SECRET = "install-test-client-secret"
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@dataclass
class Site:
    """The emulator with two more workspaces, and a Bolt app served over HTTP that installs with OAuth."""

    emu: SlackEmulator
    app: AsyncApp
    url: str
    store: FileInstallationStore
    acme: Workspace
    grid: Workspace
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def driver(self, team: str) -> SlackDriver:
        """A driver playing one workspace towards the app."""
        return SlackDriver(self.emu, self.url + "/slack/events", SECRET, team=team)


@pytest.fixture
async def site(emulator: SlackEmulator, tmp_path: Path) -> AsyncIterator[Site]:
    emulator.register_app(CLIENT_ID, CLIENT_SECRET)
    acme = emulator.add_workspace("T0ACME", "Acme Corp")
    grid = emulator.add_workspace("T0GRID", "Grid EU", enterprise_id="E0ORG", enterprise_name="Org")
    for ws in (acme, grid):
        alice = ws.add_user("alice")
        ws.add_channel("ops", members=[ws.bot_user_id, alice])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    store = FileInstallationStore(base_dir=str(tmp_path / "installations"), client_id=CLIENT_ID)
    settings = AsyncOAuthSettings(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=["chat:write", "commands"],
        redirect_uri=url + "/slack/oauth_redirect",
        authorization_url=emulator.authorize_url,
        installation_store=store,
        state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
        install_page_rendering_enabled=False,
    )
    app = AsyncApp(
        signing_secret=SECRET,
        oauth_settings=settings,
        client=AsyncWebClient(base_url=emulator.base_url),
        process_before_response=True,
    )
    found = Site(emulator, app, url, store, acme, grid)

    @app.middleware
    async def keep(body: dict[str, Any], next: Any) -> Any:
        found.bodies.append(body)
        return await next()

    runner = web.AppRunner(app.web_app(), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield found
    await runner.cleanup()


@pytest.mark.parametrize("install_page", [False, True], ids=["redirect", "add-to-slack-page"])
async def test_install_runs_bolts_oauth_flow_for_the_drivers_workspace(
    site: Site, install_page: bool
) -> None:
    site.app.oauth_flow.settings.install_page_rendering_enabled = install_page  # type: ignore[union-attr]
    alice = next(u.id for u in site.acme.users.values() if u.name == "alice")
    async with site.driver("T0ACME") as acme:
        result = await acme.install(site.url + "/slack/install", user=alice)
    assert result.status == 200 and "Thank you!" in result.body, result.body
    saved = site.store.find_installation(enterprise_id=None, team_id="T0ACME")
    assert saved is not None and saved.bot_token in site.emu.tokens_of("T0ACME")
    assert (saved.user_id, saved.bot_user_id, saved.bot_id) == (
        alice,
        site.acme.bot_user_id,
        site.acme.bot_id,
    )
    assert site.store.find_installation(enterprise_id=None, team_id="T0EMU") is None
    assert [c.team for c in site.emu.calls] == ["T0ACME", "T0ACME"]  # oauth.v2.access, then auth.test
    assert not site.grid.installed


async def test_an_install_link_to_the_real_slack_is_refused(site: Site) -> None:
    async with site.driver("T0ACME") as acme:
        await acme.install(site.url + "/slack/install")
        first = site.emu.tokens_of("T0ACME")
        with pytest.raises(SlackDriverError, match="not to the emulator's"):
            site.app.oauth_flow.settings.authorize_url_generator.authorization_url = (  # type: ignore[union-attr]
                "https://slack.com/oauth/v2/authorize"
            )
            await acme.install(site.url + "/slack/install")
    assert site.emu.tokens_of("T0ACME") == first


async def test_the_installed_app_answers_each_workspace_with_its_own_token(site: Site) -> None:
    @site.app.message("ping")
    async def pong(say: Any, context: Any) -> None:
        await say(f"pong from {context.team_id}")

    async with site.driver("T0ACME") as acme, site.driver("T0GRID") as grid:
        await acme.install(site.url + "/slack/install")
        await grid.install(site.url + "/slack/install")
        for driver in (acme, grid):
            alice = next(u.id for u in driver.ws.users.values() if u.name == "alice")
            await driver.say(alice, "ops", "ping")
    for ws in (site.acme, site.grid):
        ops = ws.channel("ops")
        assert ops is not None and site.emu.messages(ops.id)[-1]["text"] == f"pong from {ws.team_id}"
        posts = [c for c in site.emu.calls_for(ws.team_id) if c.method == "chat.postMessage"]
        assert [c.params["channel"] for c in posts] == [ops.id]
    assert site.emu.calls_for("T0EMU") == []


async def test_payloads_carry_the_drivers_workspace(site: Site) -> None:
    @site.app.command("/incident")
    async def command(ack: Any, respond: Any, client: AsyncWebClient, command: dict[str, Any]) -> None:
        await ack()
        await respond("Paging…")  # the response_url leads back to this workspace
        actions = {
            "type": "actions",
            "elements": [{"type": "button", "action_id": "ack", "text": text("Ack")}],
        }
        await client.chat_postMessage(channel=command["channel_id"], text="Paged", blocks=[actions])

    @site.app.action("ack")
    async def acked(ack: Any) -> None:
        await ack()

    @site.app.message("hello")
    async def hello() -> None:
        pass

    grid = site.grid
    alice = next(u.id for u in grid.users.values() if u.name == "alice")
    ops = grid.channel("ops")
    assert ops is not None
    async with site.driver("T0GRID") as driver:
        await driver.install(site.url + "/slack/install")
        await driver.command(alice, ops.id, "page")
        await driver.say(alice, ops.id, "hello")
        await driver.click(alice, ops.id, site.emu.messages(ops.id)[0]["ts"], "ack")
    cmd, event, click = site.bodies
    assert [e["text"] for e in site.emu.ephemerals(alice)] == ["Paging…"]
    assert site.emu.responses[-1]["team"] == "T0GRID"
    assert (cmd["team_id"], cmd["team_domain"], cmd["enterprise_id"], cmd["enterprise_name"]) == (
        "T0GRID",
        "grid-eu",
        "E0ORG",
        "Org",
    )
    assert (event["team_id"], event["enterprise_id"], event["context_enterprise_id"]) == (
        "T0GRID",
        "E0ORG",
        "E0ORG",
    )
    assert event["authorizations"] == [
        {
            "enterprise_id": "E0ORG",
            "team_id": "T0GRID",
            "user_id": grid.bot_user_id,
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    assert event["event"]["team"] == "T0GRID" and event["event"]["channel_type"] == "channel"
    assert click["team"] == {
        "id": "T0GRID",
        "domain": "grid-eu",
        "enterprise_id": "E0ORG",
        "enterprise_name": "Org",
    }
    assert click["enterprise"] == {"id": "E0ORG", "name": "Org"} and click["user"]["team_id"] == "T0GRID"
    assert click["message"]["bot_id"] == grid.bot_id and click["is_enterprise_install"] is False


async def test_uninstall_revokes_the_tokens_and_sends_both_events_signed(site: Site) -> None:
    site.app.enable_token_revocation_listeners()
    async with site.driver("T0ACME") as acme:
        await acme.install(site.url + "/slack/install")
        [token] = site.emu.tokens_of("T0ACME")
        await acme.uninstall()  # SlackDriverError if the app refused either event (e.g. a bad signature)
    revoked, uninstalled = site.bodies
    assert revoked["event"] == {
        "type": "tokens_revoked",
        "tokens": {"oauth": [], "bot": [site.acme.bot_user_id]},
    }
    assert uninstalled["event"] == {"type": "app_uninstalled"}
    for body in (revoked, uninstalled):
        assert (body["type"], body["team_id"], body["api_app_id"]) == ("event_callback", "T0ACME", "A0EMU")
        assert body["authorizations"][0]["user_id"] == site.acme.bot_user_id and body["event_time"] > 0
    assert revoked["event_id"] != uninstalled["event_id"]
    assert site.store.find_installation(enterprise_id=None, team_id="T0ACME") is None  # Bolt's own listeners
    assert not site.acme.installed and site.emu.tokens_of("T0ACME") == []
    with pytest.raises(SlackApiError, match="token_revoked"):
        await AsyncWebClient(base_url=site.emu.base_url, token=token).auth_test()


def text(value: str) -> dict[str, str]:
    """A plain_text object."""
    return {"type": "plain_text", "text": value}
