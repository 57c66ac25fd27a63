"""A real `incident-bot serve --http` whose calendar server trickles: pages still go out on time."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from slack_emulator import SlackDriver, SlackEmulator
from tests.hostile import HostileServer
from tests.processes import serve, terminate

SECRET = "calendar-process-signing-secret"


def _pages(emu: SlackEmulator, user: str) -> list[str]:
    return [dm["text"] for dm in emu.dms(user) if dm["text"].startswith("Paged")]


async def test_a_trickling_calendar_does_not_stop_a_running_bot_paging(tmp_path: Path) -> None:
    calendar = await HostileServer(every=2.0).start()
    (tmp_path / "incident-bot.toml").write_text(
        f"""\
announce_channel = "C0INCIDENTS"

[[schedules]]
name = "primary"
ical_url = "{calendar.base}/trickle/private-SECRETKEY123/basic.ics"
fallback = ["U0LEAD"]

[[escalation.levels]]
name = "L1"
title = "Primary"
schedule = "primary"
after = "0s"

[[escalation.levels]]
name = "L2"
title = "Backup"
users = ["U0BEN"]
after = "5s"
"""
    )
    try:
        async with SlackEmulator() as emu:
            emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
            general = emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
            alice = emu.add_user("alice", user_id="U0ALICE")
            emu.add_user("lead", user_id="U0LEAD")
            emu.add_user("ben", user_id="U0BEN")
            db = f"sqlite:///{tmp_path / 'bot.db'}"
            proc, port = await serve(emu, tmp_path, SECRET, database_url=db)
            try:
                await emu.wait_for(lambda: calendar.trickling == 1, timeout=10)  # the calendar job
                async with SlackDriver(emu, f"http://127.0.0.1:{port}/slack/events", SECRET) as driver:
                    await driver.command(alice, general, "declare sev1 Checkout is down")
                # The calendar takes 20 s to give up; both levels are due well before.
                await emu.wait_for(lambda: _pages(emu, "U0LEAD"), timeout=10)
                await emu.wait_for(lambda: _pages(emu, "U0BEN"), timeout=15)
                assert calendar.trickling == 1, "the calendar was still trickling throughout"
                async with aiohttp.ClientSession() as session:
                    async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
                        assert resp.status == 200, await resp.text()
            finally:
                assert await terminate(proc) == 0
    finally:
        await calendar.stop()
