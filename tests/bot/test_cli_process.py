"""`incident-bot` as a user starts it: a real process, spoken to only as Slack would."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

from bot.shell import run_demo
from slack_emulator import SlackDriver, SlackEmulator
from tests.processes import free_port, wait_healthy
from tests.slack_spec import assert_emulator_ok

SECRET = "process-signing-secret"


async def test_serve_http_answers_slack_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with SlackEmulator() as emu:
        emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
        general = emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
        alice = emu.add_user("alice", user_id="U0ALICE")
        (tmp_path / "incident-bot.toml").write_text('announce_channel = "#incidents"\n')
        port = free_port()
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": emu.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": emu.base_url,
        }
        env.pop("DATABASE_URL", None)
        env.pop("INCIDENT_BOT_CONFIG", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1", "--port", str(port),
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
            async with SlackDriver(emu, f"http://127.0.0.1:{port}/slack/events", SECRET) as slack:
                await slack.command(alice, general, "declare sev1 Payments are down")
                await emu.wait_for(lambda: len(emu.messages("C0INCIDENTS")) == 1, timeout=10)
            proc.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(proc.communicate(), timeout=15)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, output.decode()
        assert (tmp_path / "incident-bot.db").exists(), "the default SQLite file was not used"
        assert emu.bot_token not in output.decode() and SECRET not in output.decode()
        [channel] = [c for c in emu.state.channels.values() if c.name.startswith("incident-")]
        assert len(emu.pins(channel.id)) == 1
        assert any("Payments are down" in m.get("text", "") for m in emu.messages("C0INCIDENTS"))
    assert_emulator_ok(emu)


async def test_demo_tells_the_whole_story() -> None:
    out = io.StringIO()
    assert await run_demo(out) == 0
    text = out.getvalue()
    for expected in (
        "/incident declare sev2",
        "[channel_created] #incident-",
        "[pin] #incident-",
        "SEV2 incident declared",
        "Investigating → Identified",
        "Resolved · INC-1",
        "SEV2 incident resolved",
        "is now *scribe*",  # a role assignment
        "[dm] @bob",  # and the assignee's DM
        ":white_check_mark:",  # the bot confirms the pushpin
        "# Postmortem: INC-1",
        "| Time (UTC) | Event |",
        "You are paged (L1 On-call engineer)",
        "Acknowledged by @alice",
        "You are paged (L2 Team lead)",
        "a status update is due",
    ):
        assert expected in text, expected
    assert "\n! " not in text, "every demo step was accepted"
    timeline = text[text.index("| Time (UTC) | Event |") :]
    assert "**Pinned** (alice): Seeing 502s" in timeline
    assert "**Scribe** (bob): Rollback finished" in timeline
    assert "\x1b[" not in text, "no colour codes when the output is not a terminal"
