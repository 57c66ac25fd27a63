"""Shared by the bench scripts: servers in subprocesses, signed requests, percentiles, machine info,
throw-away PostgreSQL databases and what the bot's inbox table says after a run."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import platform
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_emulator import SlackEmulator  # noqa: E402
from slack_emulator.payloads import event_envelope  # noqa: E402
from storage.db import async_url  # noqa: E402
from storage.models import InboxItem  # noqa: E402

SECRET = "bench-signing-secret"
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> str:
    """CPU, cores and Python, for the results table."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores, Python {platform.python_version()}"


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (0–100)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: list[float]) -> float:
    """The median of several runs."""
    return statistics.median(values)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """Slack's signature headers for `body`, now."""
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def command_body(
    user: str, channel: str, text: str, response_url: str, trigger_id: str | None = None
) -> tuple[bytes, str]:
    """A `/incident` slash command request body (the bot keys stored commands by trigger_id)."""
    fields = {
        "token": "bench",
        "team_id": "T0EMULATOR",
        "team_domain": "emulated",
        "channel_id": channel,
        "channel_name": "bench",
        "user_id": user,
        "user_name": "bench",
        "command": "/incident",
        "text": text,
        "api_app_id": "A0INCIDENTBOT",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{time.time_ns()}.bench",
    }
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


def event_body(event: dict[str, Any], event_id: str) -> tuple[bytes, str]:
    """An Events API request body."""
    return json.dumps(event_envelope(event, event_id, int(time.time()))).encode(), "application/json"


async def post(session: aiohttp.ClientSession, url: str, body: bytes, ctype: str) -> tuple[int, float]:
    """POST a signed request; returns (status, seconds until the whole answer arrived)."""
    headers = {"Content-Type": ctype, **signed(body)}
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as resp:
        await resp.read()
    return resp.status, time.perf_counter() - started


def _log_file() -> Any:
    """BENCH_LOG=file keeps the servers' logs; by default they are dropped."""
    path = os.environ.get("BENCH_LOG")
    return open(path, "ab") if path else asyncio.subprocess.DEVNULL


class Server:
    """A subprocess serving Slack requests on a port."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.args, self.env, self.cwd = args, env, cwd
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """Slack's request URL on this server."""
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> Server:
        """Start and wait for /healthz."""
        log = _log_file()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *self.args, "--port", str(self.port),
            cwd=self.cwd, env={**os.environ, **self.env}, stdout=log, stderr=log,
        )  # fmt: skip
        async with aiohttp.ClientSession() as session:
            for _ in range(400):
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            return self
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.args} did not start")

    async def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()

    def rss_mb(self) -> float:
        """Resident memory of the process, in MB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def bot_server(emu: SlackEmulator, cwd: Path, database_url: str, policy: str = "") -> Server:
    """`incident-bot serve --http` against the emulator."""
    (cwd / "incident-bot.toml").write_text('announce_channel = "C0INCIDENTS"\n' + policy)
    env = {
        "SLACK_BOT_TOKEN": emu.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emu.base_url,
        "DATABASE_URL": database_url,
        "INCIDENT_BOT_CONFIG": str(cwd / "incident-bot.toml"),
        "LOG_LEVEL": "WARNING",
    }
    return Server(["-m", "bot", "serve", "--http", "--host", "127.0.0.1"], env, cwd)


def floor_server(emu: SlackEmulator, cwd: Path) -> Server:
    """A bare Bolt AsyncApp that only acks (bench/_floor.py)."""
    env = {"SLACK_BOT_TOKEN": emu.bot_token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": emu.base_url}
    return Server([str(ROOT / "bench" / "_floor.py")], env, cwd)


async def workspace() -> SlackEmulator:
    """An emulator with the channels and people the benches use."""
    emu = SlackEmulator()
    await emu.start()
    emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
    emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
    emu.add_user("alice", user_id="U0ALICE")
    emu.add_user("scribe", user_id="U0SCRIBE")
    return emu


async def open_incident(emu: SlackEmulator, url: str) -> str:
    """Declare a SEV2 through the bot, make U0SCRIBE the scribe; returns the incident channel id."""
    from slack_emulator import SlackDriver

    async with SlackDriver(emu, url, SECRET) as slack:
        await slack.command("U0ALICE", "C0GENERAL", "declare sev2 Benchmark incident")
        channel = await emu.wait_for(
            lambda: next((c.id for c in emu.state.channels.values() if c.name.startswith("incident-")), None),
            timeout=10,
        )
        await emu.wait_for(lambda: emu.pins(channel), timeout=10)
        await slack.command("U0ALICE", channel, "scribe <@U0SCRIBE|scribe>")
        await emu.wait_for(lambda: "U0SCRIBE" in emu.channel(channel).members, timeout=10)  # type: ignore[union-attr]
    return channel


# databases


async def pg_database() -> str:
    """A new, empty PostgreSQL database on ADMIN_URL's server; returns its URL."""
    name = f"incident_bot_bench_{os.getpid()}"
    engine = create_async_engine(async_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg(url: str) -> None:
    """Drop a database made by pg_database()."""
    engine = create_async_engine(async_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    await engine.dispose()


# the bot's inbox (storage/models.py InboxItem), read directly from its database after a run

OPEN = ("pending", "working")


async def inbox_counts(url: str) -> dict[tuple[str, str], int]:
    """{(op, state): rows} of the bot's inbox table."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            stmt = select(InboxItem.op, InboxItem.state, func.count()).group_by(InboxItem.op, InboxItem.state)
            return {(op, state): int(n) for op, state, n in (await conn.execute(stmt)).all()}
    finally:
        await engine.dispose()


async def inbox_drained(url: str, ops: set[str], timeout: float) -> dict[tuple[str, str], int]:
    """Wait (up to `timeout` s) until no inbox row of `ops` is pending or working; the last counts."""
    deadline = time.perf_counter() + timeout
    while True:
        counts = await inbox_counts(url)
        if not any(n for (op, state), n in counts.items() if op in ops and state in OPEN):
            return counts
        if time.perf_counter() > deadline:
            return counts
        await asyncio.sleep(0.1)


async def ack_to_effect(url: str, op: str) -> list[float]:
    """Seconds from acknowledgement to effect for each done inbox row of `op`: done_at - created_at.

    created_at is set when the row is stored, just before the 200; done_at when its effect is
    committed and the row marked done. Done rows are pruned only after a day, so a run's are all there.
    """
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            stmt = select(InboxItem.created_at, InboxItem.done_at).where(
                InboxItem.op == op, InboxItem.state == "done"
            )
            rows = (await conn.execute(stmt)).all()
    finally:
        await engine.dispose()
    return [(done - created).total_seconds() for created, done in rows]
