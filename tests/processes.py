"""`incident-bot serve` as real processes: start, wait until healthy, stop; shared by process tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from slack_emulator import SlackEmulator


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    """Poll /healthz until it answers 200 (the process must stay up)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            assert proc.returncode is None, "incident-bot exited during start-up"
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("incident-bot never became healthy")


async def serve(
    emu: SlackEmulator,
    cwd: Path,
    secret: str,
    *,
    database_url: str | None = None,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> tuple[asyncio.subprocess.Process, int]:
    """Start `incident-bot serve --http` against the emulator and wait until it is healthy."""
    port = port or free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": emu.bot_token,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": emu.base_url,
        "INCIDENT_BOT_CONFIG": str(cwd / "incident-bot.toml"),
        **(extra_env or {}),
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1", "--port", str(port),
        cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, port


async def kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL: no shutdown code runs."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()


async def terminate(proc: asyncio.subprocess.Process, timeout: float = 40) -> int:
    """SIGTERM and wait (SIGKILL after `timeout`); returns the exit code."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return proc.returncode if proc.returncode is not None else -9


async def run_cli(database_url: str, policy: Path | None, *args: str) -> tuple[int, str, str]:
    """`incident-bot <args>` as a process on `database_url` with the policy file `policy` (None: the
    defaults, whatever this environment names)."""
    env = {**os.environ, "DATABASE_URL": database_url, "INCIDENT_BOT_CONFIG": str(policy)}
    if policy is None:
        env.pop("INCIDENT_BOT_CONFIG")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


GUARD = 60.0  # seconds a command may take: only against a hang


@dataclass
class Ran:
    """A finished `incident-bot` command."""

    returncode: int
    stdout: str
    stderr: str


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without Slack, logging, database or policy settings, plus `extra`: a command
    sees only what the test gives it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOG_"))}
    for key in ("DATABASE_URL", "INCIDENT_BOT_CONFIG"):
        env.pop(key, None)
    return {**env, **extra}


async def run_bot(args: list[str], cwd: Path, **env: str) -> Ran:
    """`incident-bot <args>` run in `cwd` with `clean_env(**env)`, within GUARD."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=cwd, env=clean_env(**env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), GUARD)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())
