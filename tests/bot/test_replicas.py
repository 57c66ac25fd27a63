"""Two `incident-bot serve` replicas on one PostgreSQL: pages go out once, and keep going after SIGKILL."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from slack_emulator import SlackDriver, SlackEmulator
from tests.harness import truncate_all
from tests.processes import serve, terminate

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
        replicas = [await serve(emu, tmp_path, SECRET, database_url=pg_database) for _ in range(2)]
        try:
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
                await terminate(proc)
        assert survivor.returncode == 0
