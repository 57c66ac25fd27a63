"""CLI output never shows the secret path or query of a configured URL (calendars, webhooks)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.harness import Harness
from tests.hostile import HostileServer
from tests.receivers import Receiver

SECRET = "private-SECRETKEY123"
HOOK_SECRET = "XXXXHOOKSECRET"


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_oncall_show_names_a_failed_calendar_without_its_secret(tmp_path: Path) -> None:
    server = await HostileServer(status=404).start()
    try:
        (tmp_path / "policy.toml").write_text(
            'announce_channel = "C0INCIDENTS"\n\n[[schedules]]\nname = "primary"\n'
            f'ical_url = "{server.base}/feed/{SECRET}/basic.ics?key=abc"\nfallback = ["U0LEAD"]\n'
        )
        env = {
            **os.environ,
            "INCIDENT_BOT_CONFIG": str(tmp_path / "policy.toml"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        }
        code, out, err = await _cli(env, "oncall", "show", "primary", "--days", "2")
    finally:
        await server.stop()
    assert code == 0, err
    assert SECRET not in out + err and "key=abc" not in out + err, out + err
    assert f"calendar of schedule primary: HTTP 404 from {server.base}/…" in err, err
    assert "U0LEAD" in out, "the fallback covers the schedule"


@pytest.fixture
def policy_data(hooks: Receiver) -> dict:
    return {
        "webhooks": [{"url": f"{hooks.url}/services/T0/B0/{HOOK_SECRET}", "secret": "hook-signing-1"}],
        "delivery": {"max_attempts": 1},
    }


async def test_webhooks_status_shows_the_host_only(harness: Harness, hooks: Receiver) -> None:
    h = harness
    hooks.status = 500
    await h.declare("sev4 Receiver is down")
    await h.bot.shared.outbox.deliver_due()
    env = {**os.environ, "DATABASE_URL": h.database_url}
    env.pop("INCIDENT_BOT_CONFIG", None)
    code, out, _ = await _cli(env, "webhooks", "status")
    assert code == 0 and f"webhook:{hooks.url}/…\tfailed\t1" in out, out
    assert f"failed: webhook:{hooks.url}/… declared" in out, out
    assert HOOK_SECRET not in out, out
