"""A real `incident-bot serve` process with a bot token and the web view's settings in its
environment: Slack requests still work (Bolt must not start its own OAuth), and people sign in."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import yarl

from slack_emulator import SlackDriver, SlackEmulator
from tests.processes import serve, terminate

SECRET = "web-process-secret"
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


async def test_a_served_bot_with_the_web_view_on_answers_slack_and_signs_people_in(tmp_path: Path) -> None:
    (tmp_path / "incident-bot.toml").write_text('announce_channel = "C0INCIDENTS"\n')
    async with SlackEmulator() as emu:
        emu.register_app("7.7", "web-secret")
        emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
        general = emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
        alice = emu.add_user("alice", user_id="U0ALICE")
        env = {
            "SLACK_CLIENT_ID": "7.7",
            "SLACK_CLIENT_SECRET": "web-secret",
            "INCIDENT_BOT_SESSION_SECRET": "web-process-session-secret-32-bytes-or-more",
        }
        proc, port = await serve(emu, tmp_path, SECRET, extra_env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            async with SlackDriver(emu, url + "/slack/events", SECRET) as slack:
                await slack.command(alice, general, "declare sev1 Payments are down")
            await emu.wait_for(lambda: emu.calls_to("conversations.create"), timeout=10)
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
                async with s.get(url + "/ui/login", allow_redirects=False) as resp:
                    authorize = resp.headers["Location"]
                async with s.get(yarl.URL(authorize).update_query(user=alice)) as resp:
                    page = await resp.text()
            assert resp.status == 200 and "Payments are down" in page
        finally:
            await terminate(proc)
