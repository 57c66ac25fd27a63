"""Two `incident-bot serve` replicas on one PostgreSQL: pages go out once, and keep going after SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.emulator import SlackDriver, SlackEmulator
from tests.harness import truncate_all
from tests.test_cli_process import _free_port, _wait_healthy

SECRET = "replica-signing-secret"
POLICY = """\
announce_channel = "C0INCIDENTS"

[[escalation.levels]]
name = "L1"
title = "On-call engineer"
users = ["U0ONCALL"]
after = "0s"

[[escalation.levels]]
name = "L2"
title = "Team lead"
users = ["U0LEAD"]
after = "4s"
"""


def _pages(emu: SlackEmulator, user: str) -> list[str]:
    return [dm["text"] for dm in emu.dms(user) if dm["text"].startswith("Paged")]


async def _serve(emu: SlackEmulator, cwd: Path, database_url: str) -> tuple[asyncio.subprocess.Process, int]:
    port = _free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": emu.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emu.base_url,
        "DATABASE_URL": database_url,
        "INCIDENT_BOT_CONFIG": str(cwd / "incident-bot.toml"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1", "--port", str(port),
        cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return proc, port


async def test_replicas_page_once_and_survive_a_sigkill(tmp_path: Path, pg_database: str | None) -> None:
    if pg_database is None:
        pytest.skip("PostgreSQL not reachable at TEST_DATABASE_URL or 127.0.0.1:5432 (required under CI)")
    await truncate_all(pg_database)
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    async with SlackEmulator() as emu:
        emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
        general = emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
        alice = emu.add_user("alice", user_id="U0ALICE")
        emu.add_user("oncall", user_id="U0ONCALL")
        emu.add_user("lead", user_id="U0LEAD")
        replicas = [await _serve(emu, tmp_path, pg_database) for _ in range(2)]
        try:
            for proc, port in replicas:
                await _wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
            (doomed, port_a), (survivor, port_b) = replicas
            async with SlackDriver(emu, f"http://127.0.0.1:{port_a}/slack/events", SECRET) as a, SlackDriver(
                emu, f"http://127.0.0.1:{port_b}/slack/events", SECRET
            ) as b:  # fmt: skip
                for n in range(6):
                    await (a if n % 2 else b).command(alice, general, f"declare sev2 Replica test {n}")
                await emu.wait_for(lambda: len(_pages(emu, "U0ONCALL")) >= 6, timeout=15)
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
            await emu.wait_for(lambda: len(_pages(emu, "U0LEAD")) >= 6, timeout=20)
            await asyncio.sleep(2.5)  # a few more ticks: nothing may be repeated
            for user in ("U0ONCALL", "U0LEAD"):
                refs = sorted(t.split(" INC-")[1].split(" ")[0] for t in _pages(emu, user))
                assert refs == sorted(str(n) for n in range(1, 7)), (user, refs)
        finally:
            for proc, _ in replicas:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(proc.wait(), timeout=15)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
        assert survivor.returncode == 0
