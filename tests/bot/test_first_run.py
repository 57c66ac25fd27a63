"""A first run as a user starts it: a wrong setting, a busy port or a token Slack rejects is one line
on stderr (exit 2 when a setting must change, 1 otherwise), never a traceback; Socket Mode keeps
/healthz answering and stops on SIGTERM whatever Slack does."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.cli import main
from slack_emulator import SlackEmulator
from tests.processes import GUARD, Ran, clean_env, free_port, run_bot, wait_healthy

# Only a guard against a hang (the bug some of these were): nothing asserts on how long a run takes.
# Issue 13's contract: a Socket Mode bot stops within 5 s of SIGTERM, whatever Slack does.
STOP_WITHIN = 5.0
SECRET = "first-run-signing-secret"


def _one_line(ran: Ran, code: int, *needles: str) -> str:
    """The run exited `code` with exactly one line on stderr, holding every needle; that line."""
    assert "Traceback" not in ran.stderr, ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert ran.returncode == code, ran.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _closed_slack() -> dict[str, str]:
    """Slack settings for the commands that need them, pointing at a port nobody listens on."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-first-run",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
    }


def _commands(database_url: str) -> dict[str, list[str]]:
    return {
        "serve": ["serve", "--http", "--host", "127.0.0.1", "--port", str(free_port())],
        "stats": ["stats"],
        "export": ["export", "1"],
        "db upgrade": ["db", "upgrade"],
        "webhooks status": ["webhooks", "status"],
        # The demo keeps its data where --database says (it leaves DATABASE_URL alone).
        "demo": ["demo", "--database", database_url],
    }


def _problems(tmp_path: Path, pg_database: str | None) -> dict[str, tuple[dict[str, str], int, list[str]]]:
    """Each way a first run goes wrong: its environment, the exit code and what the line must say."""
    closed = free_port()
    (tmp_path / "a-file").write_text("")
    problems = {
        "unreachable": (
            {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/x"},
            1,
            ["cannot reach the database", f"127.0.0.1:{closed}", "DATABASE_URL"],
        ),
        "no directory": (
            {"DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-dir' / 'bot.db'}"},
            2,
            ["configuration error: DATABASE_URL", str(tmp_path / "no-such-dir"), "does not exist"],
        ),
        "not a directory": (
            {"DATABASE_URL": f"sqlite:///{tmp_path / 'a-file' / 'bot.db'}"},
            2,
            ["configuration error: DATABASE_URL", str(tmp_path / "a-file"), "is not a directory"],
        ),
        "log level": (
            {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "chatty"},
            2,
            ["configuration error: LOG_LEVEL", "debug, info, warning"],
        ),
    }
    if pg_database is not None:
        problems["missing database"] = (
            {"DATABASE_URL": pg_database.rsplit("/", 1)[0] + "/incident_bot_no_such_database"},
            2,
            ["configuration error: DATABASE_URL", '"incident_bot_no_such_database"', "create it"],
        )
    return problems


async def test_every_command_says_what_is_wrong_in_one_line(tmp_path: Path, pg_database: str | None) -> None:
    """Each command meets one of the problems (all are met in-process below), as real processes."""
    problems = list(_problems(tmp_path, pg_database).items())
    runs = []
    for i, command in enumerate(_commands("")):
        kind, (env, code, needles) = problems[i % len(problems)]
        args = _commands(env["DATABASE_URL"])[command]
        runs.append((command, kind, code, needles, run_bot(args, tmp_path, **_closed_slack(), **env)))
    results = await asyncio.gather(*(run for *_, run in runs))
    for (command, kind, code, needles, _), ran in zip(runs, results, strict=True):
        assert ran.returncode == code, (command, kind, ran.stderr)
        _one_line(ran, code, *needles)
    assert not (tmp_path / "no-such-dir").exists()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """`main(args)` in this process with a clean environment; puts logging back afterwards."""
    settings = [k for k in os.environ if k.startswith(("SLACK_", "LOG_"))]
    for key in [*settings, "DATABASE_URL", "INCIDENT_BOT_CONFIG"]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def call(args: list[str], env: dict[str, str]) -> Ran:
        with monkeypatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            try:
                code = main(args)
            except SystemExit as exc:  # argparse refusing a flag
                code = int(exc.code or 0)
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    yield call
    root.handlers[:] = handlers
    root.setLevel(level)


def test_every_problem_with_every_command(tmp_path: Path, pg_database: str | None, cli: Any) -> None:
    """The whole matrix, through main() (starting ~25 processes would take a while)."""
    for kind, (env, code, needles) in _problems(tmp_path, pg_database).items():
        for command, args in _commands(env["DATABASE_URL"]).items():
            if command == "demo":
                continue  # its emulator and workspace are a process's to clean up: the test above runs it
            ran = cli(args, {**_closed_slack(), **env})
            assert ran.returncode == code, (kind, command, ran.stderr)
            _one_line(ran, code, *needles)


def test_debug_shows_the_traceback_before_the_line(tmp_path: Path, cli: Any) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    runs = [
        asyncio.run(run_bot(["--debug", "stats"], tmp_path, DATABASE_URL=url)),
        cli(["webhooks", "status", "--debug"], {"DATABASE_URL": url}),
        cli(["db", "upgrade"], {"DATABASE_URL": url, "LOG_LEVEL": "debug"}),
    ]
    for ran in runs:
        assert ran.returncode == 1, ran.stderr
        assert "Traceback" in ran.stderr, ran.stderr
        assert ran.stderr.strip().splitlines()[-1].startswith("incident-bot: cannot reach the database")


async def test_a_port_in_use_is_one_line_naming_the_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
        ran = await run_bot(
            args, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", **_closed_slack()
        )
    _one_line(ran, 1, f"port {port}", "already in use", "--port")


def test_bad_flag_values_name_what_is_expected(cli: Any) -> None:
    manifest = cli(["manifest", "--http-url", "not-a-url"], {})
    assert manifest.returncode == 2 and manifest.stdout == "", manifest.stderr
    assert "argument --http-url: 'not-a-url' is not a public https:// URL" in manifest.stderr
    stats = cli(["stats", "--since", "forever"], {})
    assert stats.returncode == 2, stats.stderr
    assert "argument --since: 'forever' is not a duration" in stats.stderr
    assert "m (minutes), h (hours), d (days)" in stats.stderr
    assert "configuration error" not in stats.stderr


class FakeSlack:
    """The Web API as far as a Socket Mode start goes: auth.test accepts the bot token;
    apps.connections.open fails ("fail"), never answers ("silent") or rejects the app token ("reject")."""

    def __init__(self, mode: str) -> None:
        self.mode, self.opens = mode, 0
        self._changed, self._release = asyncio.Event(), asyncio.Event()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        self._runner = web.AppRunner(app)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": "U0BOT", "team_id": "T0TEAM", "bot_id": "B0BOT"})
        if method != "apps.connections.open":
            return web.json_response({"ok": False, "error": "unknown_method"})
        self.opens += 1
        self._changed.set()
        if self.mode == "reject":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.mode == "silent":
            await self._release.wait()
        return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)

    async def wait_opens(self, count: int) -> None:
        """Until apps.connections.open has been asked `count` times."""
        async with asyncio.timeout(GUARD):
            while self.opens < count:
                self._changed.clear()
                await self._changed.wait()

    async def __aenter__(self) -> FakeSlack:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        await self._runner.cleanup()


async def _socket_mode(cwd: Path, slack_url: str, port: int, **env: Any) -> asyncio.subprocess.Process:
    environ = clean_env(
        SLACK_BOT_TOKEN="xoxb-first-run",
        SLACK_APP_TOKEN="xapp-first-run",
        SLACK_API_URL=slack_url,
        DATABASE_URL=f"sqlite:///{cwd / 'bot.db'}",
        **env,
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
        cwd=cwd, env=environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


@pytest.fixture
async def procs() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Processes a test started: killed at the end if still running."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _healthz(port: int) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as resp:
        return resp.status


async def _sigterm(proc: asyncio.subprocess.Process) -> str:
    """SIGTERM; the process must be gone within STOP_WITHIN. Its stderr."""
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), STOP_WITHIN)
    return err.decode()


async def test_socket_mode_keeps_trying_quietly_and_stops_on_sigterm(
    tmp_path: Path, procs: list[asyncio.subprocess.Process]
) -> None:
    async with FakeSlack("fail") as slack:
        port = free_port()
        procs.append(proc := await _socket_mode(tmp_path, slack.url, port))
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
        await slack.wait_opens(3)
        assert await _healthz(port) == 200, "/healthz answers while Socket Mode keeps trying"
        stderr = await _sigterm(proc)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    reports = [line for line in stderr.splitlines() if " WARNING " in line or " ERROR " in line]
    assert len(reports) == 1, f"{slack.opens} failed attempts, reported at most once a minute:\n{stderr}"
    assert "cannot connect to Slack in Socket Mode" in reports[0]
    assert "service_unavailable" in reports[0]
    assert "`token` will be unused" not in stderr, "Bolt's warning about its own token"


async def test_socket_mode_stops_on_sigterm_while_slack_does_not_answer(
    tmp_path: Path, procs: list[asyncio.subprocess.Process]
) -> None:
    async with FakeSlack("silent") as slack:
        port = free_port()
        procs.append(proc := await _socket_mode(tmp_path, slack.url, port))
        await slack.wait_opens(1)
        await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
        stderr = await _sigterm(proc)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr


async def test_a_token_slack_rejects_is_one_line_and_exit_2(tmp_path: Path) -> None:
    async with SlackEmulator() as emu, FakeSlack("reject") as slack:
        wrong_bot = {"SLACK_BOT_TOKEN": "xoxb-not-this-workspace", "SLACK_API_URL": emu.base_url}
        wrong_app = {"SLACK_BOT_TOKEN": "xoxb-first-run", "SLACK_API_URL": slack.url}
        runs = []
        # A bot token is checked before the mode matters; the app token only in Socket Mode.
        for name, mode, env in (("http", ["--http"], wrong_bot), ("socket", [], wrong_app)):
            (tmp_path / name).mkdir()
            args = ["serve", *mode, "--host", "127.0.0.1", "--port", str(free_port())]
            database = f"sqlite:///{tmp_path / name / 'bot.db'}"
            env = {"SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": "xapp-first-run", **env}
            runs.append(run_bot(args, tmp_path / name, DATABASE_URL=database, **env))
        bot_token, app_token = await asyncio.gather(*runs)
    _one_line(bot_token, 2, "configuration error: SLACK_BOT_TOKEN", "invalid_auth")
    _one_line(app_token, 2, "configuration error: SLACK_APP_TOKEN", "invalid_auth")
    for ran in (bot_token, app_token):
        assert "xoxb-not-this-workspace" not in ran.stderr and "xapp-first-run" not in ran.stderr


async def test_oauth_settings_that_cannot_work_are_one_line_and_exit_2(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    oauth = {
        "SLACK_CLIENT_ID": "1111.2222",
        "SLACK_CLIENT_SECRET": "client-secret",
        "SLACK_STATE_SECRET": "state-secret",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }
    http = ["serve", "--http", "--host", "127.0.0.1", "--port", str(free_port())]
    cases = [
        (
            http,
            {"INCIDENT_BOT_ENCRYPTION_KEY": "not-a-fernet-key"},
            ["INCIDENT_BOT_ENCRYPTION_KEY", "Fernet"],
        ),
        (http, {}, ["INCIDENT_BOT_ENCRYPTION_KEY: not set"]),
        (["serve"], {"INCIDENT_BOT_ENCRYPTION_KEY": key}, ["--http", "OAuth"]),
        (http, {"SLACK_CLIENT_SECRET": ""}, ["SLACK_CLIENT_SECRET: not set"]),
    ]
    runs = [run_bot(args, tmp_path, **{**oauth, **env}) for args, env, _ in cases]
    for (*_, needles), ran in zip(cases, await asyncio.gather(*runs), strict=True):
        line = _one_line(ran, 2, *needles)
        assert "not-a-fernet-key" not in line and "client-secret" not in line


def test_serve_without_tokens_names_both_and_points_at_the_demo(cli: Any) -> None:
    http = cli(["serve", "--http"], {})
    line = _one_line(http, 2, "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID")
    assert "no workspace yet? try `make demo` or `make shell`" in line
    socket_mode = cli(["serve"], {})
    line = _one_line(socket_mode, 2, "SLACK_BOT_TOKEN and SLACK_APP_TOKEN")
    assert "no workspace yet? try `make demo` or `make shell`" in line
    half = cli(["serve", "--http"], {"SLACK_BOT_TOKEN": "xoxb-1"})
    _one_line(half, 2, "SLACK_SIGNING_SECRET: not set", "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")


def test_stats_and_export_without_a_database_say_so_and_create_none(tmp_path: Path, cli: Any) -> None:
    for args in (["stats"], ["export", "1"], ["inbox", "status"], ["webhooks", "status"]):
        ran = cli(args, {})
        line = _one_line(ran, 2, "no database at ./incident-bot.db")
        assert "(set DATABASE_URL or run from the folder where the bot runs)" in line
        assert ran.stdout == ""
        assert not (tmp_path / "incident-bot.db").exists(), f"`{' '.join(args)}` created a database"
    elsewhere = tmp_path / "elsewhere.db"
    _one_line(cli(["stats"], {"DATABASE_URL": f"sqlite:///{elsewhere}"}), 2, f"no database at {elsewhere}")
    assert not elsewhere.exists()


async def test_a_slack_host_that_does_not_resolve_is_named(
    tmp_path: Path, procs: list[asyncio.subprocess.Process]
) -> None:
    port = free_port()
    environ = clean_env(
        SLACK_BOT_TOKEN="xoxb-first-run",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL="http://no-such-host.invalid/api/",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
    )
    args = ["serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    pipes = {"stdout": asyncio.subprocess.PIPE, "stderr": asyncio.subprocess.PIPE}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=tmp_path, env=environ, **pipes
    )
    procs.append(proc)
    await wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
    assert proc.stderr is not None
    async with asyncio.timeout(GUARD):
        while "cannot reach Slack" not in (line := (await proc.stderr.readline()).decode()):
            assert line, "the process ended without saying it cannot reach Slack"
    assert "the host no-such-host.invalid could not be resolved (DNS)" in line, line
    assert "unknown error" not in line, line


def test_describe_names_the_host_for_every_resolver_error() -> None:
    import socket as sockets

    from bot.net import describe

    for code in (sockets.EAI_NONAME, sockets.EAI_AGAIN, sockets.EAI_FAIL):
        wrapped = ConnectionError("cannot connect")
        wrapped.__cause__ = sockets.gaierror(code, "Name or service not known")
        assert describe(wrapped, host="slack.example") == "the host slack.example could not be resolved (DNS)"
    assert describe(sockets.gaierror(sockets.EAI_NONAME, "x")) == "the host could not be resolved (DNS)"
    assert describe(TimeoutError()) == "timed out"
