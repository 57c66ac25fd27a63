"""`serve --no-worker` beside `incident-bot worker`, and plain `serve` with its worker child, as real
processes spoken to only as Slack would, against the emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from slack_emulator import SlackDriver, SlackEmulator
from storage.db import Database
from storage.inbox import InboxRepo
from tests.bot.test_durability import POLICY, SECRET, Ledger, _flood_through, _workspace
from tests.processes import free_port, kill, terminate, wait_healthy


async def _process(
    emu: SlackEmulator, cwd: Path, database_url: str, command: list[str], log: Path
) -> tuple[asyncio.subprocess.Process, int]:
    """`incident-bot <command>` on a free port, its output added to `log`; returns once /healthz answers."""
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": emu.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emu.base_url,
        "INCIDENT_BOT_CONFIG": str(cwd / "incident-bot.toml"),
        "DATABASE_URL": database_url,
    }
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *command, "--host", "127.0.0.1", "--port", str(port),
            cwd=cwd, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, port


async def _readyz(port: int) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/readyz") as resp:
        return resp.status, (await resp.json())["status"]


def _children(pid: int) -> list[int]:
    """The live (not zombie) child processes of `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


async def _until(what: Callable[[], Any], timeout: float = 20) -> Any:
    """The first true value of `what()`, polled (the processes work on their own)."""
    async with asyncio.timeout(timeout):
        while True:
            if value := what():
                return value
            await asyncio.sleep(0.05)


async def _open_rows(database_url: str) -> dict[str, int]:
    db = Database(database_url)
    try:
        async with db.session() as s:
            return dict(await InboxRepo(s).summary())
    finally:
        await db.dispose()


def _incident_channel(emu: SlackEmulator) -> str | None:
    return next((c.id for c in emu.state.channels.values() if c.name.startswith("incident-")), None)


async def test_serve_no_worker_stores_and_the_worker_carries_out_each_event_once_in_order_through_a_kill(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    log = tmp_path / "processes.log"
    async with SlackEmulator() as emu:
        general, alice, scribe = _workspace(emu)
        web_proc, port = await _process(emu, tmp_path, database_url, ["serve", "--http", "--no-worker"], log)
        url = f"http://127.0.0.1:{port}/slack/events"
        worker: asyncio.subprocess.Process | None = None
        try:
            async with SlackDriver(emu, url, SECRET) as slack:
                assert (await slack.command(alice, general, "declare sev2 Flood test")).ok
                assert await _readyz(port) == (200, "ok"), "ready with no worker and no tick"
                await asyncio.sleep(0.5)
                assert not emu.calls_to("conversations.create"), "serve --no-worker carried it out"
                assert await _open_rows(database_url) == {"pending": 1}

                worker, _ = await _process(emu, tmp_path, database_url, ["worker"], log)
                channel = await _until(lambda: _incident_channel(emu))
                await _until(lambda: emu.pins(channel))
                assert (await slack.command(alice, channel, f"scribe <@{scribe}|scribe>")).ok
                await _until(lambda: any("scribe" in m.get("text", "") for m in emu.messages(channel)))

            async def kill_the_worker_and_start_another(ledger: Ledger) -> str:
                nonlocal worker
                assert worker is not None
                acked = await _until(lambda: (n := sum(map(len, ledger.acked.values()))) >= 60 and n)
                await kill(worker)
                worker, _ = await _process(emu, tmp_path, database_url, ["worker"], log)
                return f"worker killed after {acked} acknowledged"

            await _flood_through(emu, url, channel, database_url, kill_the_worker_and_start_another)
        finally:
            codes = [await terminate(p) for p in (worker, web_proc) if p is not None]
        assert codes == [0, 0], "SIGTERM: each stops cleanly"
    output = log.read_text()
    assert "database is locked" not in output and "Traceback" not in output, output[-3000:]


async def test_plain_serve_runs_its_worker_child_restarts_it_when_killed_and_stops_with_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    log = tmp_path / "processes.log"
    database_url = f"sqlite:///{tmp_path / 'incident-bot.db'}"
    async with SlackEmulator() as emu:
        general, alice, _ = _workspace(emu)
        serve, port = await _process(emu, tmp_path, database_url, ["serve", "--http"], log)
        url = f"http://127.0.0.1:{port}/slack/events"
        try:
            [first] = await _until(lambda: _children(serve.pid))
            async with SlackDriver(emu, url, SECRET) as slack:
                assert (await slack.command(alice, general, "declare sev2 Checkout is down")).ok
                channel = await _until(lambda: _incident_channel(emu))
                await _until(lambda: emu.pins(channel))
                assert await _readyz(port) == (200, "ok"), "its worker child ticks"

                os.kill(first, signal.SIGKILL)
                [second] = await _until(lambda: [c for c in _children(serve.pid) if c != first])
                assert (await slack.command(alice, channel, "update identified bad deploy")).ok
                await _until(lambda: any("bad deploy" in m.get("text", "") for m in emu.messages(channel)))
        finally:
            code = await terminate(serve)
        assert code == 0
        assert not _alive(first) and not _alive(second), "no worker left behind"
    output = log.read_text()
    assert f"THE WORKER PROCESS {first} was killed by signal 9" in output, output[-3000:]


async def test_a_killed_serve_takes_its_worker_child_with_it(tmp_path: Path) -> None:
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    log = tmp_path / "processes.log"
    async with SlackEmulator() as emu:
        _workspace(emu)
        serve, _ = await _process(emu, tmp_path, f"sqlite:///{tmp_path / 'bot.db'}", ["serve", "--http"], log)
        try:
            [child] = await _until(lambda: _children(serve.pid))
            await kill(serve)
            await _until(lambda: not _alive(child), timeout=5)
        finally:
            await terminate(serve)


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Any:
    """A failing test must not leave a worker running against the next test's database."""
    before = set(_children(os.getpid()))
    yield
    for pid in set(_children(os.getpid())) - before:
        for child in _children(pid):
            os.kill(child, signal.SIGKILL)
