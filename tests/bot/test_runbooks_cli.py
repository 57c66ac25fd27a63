"""`incident-bot runbooks check` over files beside the policy file and a URL served locally, and
`serve` and `worker` refusing, in one line, to start on a runbook they cannot read."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import LEVELS, Harness
from tests.hostile import HostileServer
from tests.processes import free_port, run_bot

RUNBOOKS = Path(__file__).parents[1] / "domain" / "runbooks"
TOKEN = "tok-CHECKSECRET77"


def _policy(folder: Path, services: list[dict[str, str]]) -> Path:
    """A policy file in `folder` naming `services` (runbooks relative to it)."""
    lines = ['announce_channel = "#incidents"']
    for s in services:
        lines += ["[[services]]", *(f"{k} = {json.dumps(v)}" for k, v in s.items())]
    path = folder / "incident-bot.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def teams_folder(tmp_path: Path) -> Path:
    """A policy file beside a folder of runbooks, one `[[services]]` entry per file."""
    folder = tmp_path / "etc"
    (folder / "runbooks").mkdir(parents=True)
    for name in ("checkout_incidents.md", "search_service.md", "platform_guide.md"):
        shutil.copy(RUNBOOKS / name, folder / "runbooks" / name)
    services = [
        {"name": "checkout", "runbook": "runbooks/checkout_incidents.md"},
        {"name": "search", "runbook": "runbooks/search_service.md"},
        {"name": "platform", "runbook": "runbooks/platform_guide.md", "owner": "@platform"},
    ]
    _policy(folder, services)
    return folder


async def test_check_prints_what_each_runbook_states_and_its_warnings(
    teams_folder: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    ran = await run_bot(
        ["runbooks", "check"], elsewhere, INCIDENT_BOT_CONFIG=str(teams_folder / "incident-bot.toml")
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    out, folder = ran.stdout, teams_folder / "runbooks"
    for expected in (
        f"checkout (services[0]): {folder / 'checkout_incidents.md'}",
        "  owner: @payments-team",
        "  dashboards: Checkout Dashboard https://grafana.example.test/d/checkout",
        "    Checkout Down / 502 Errors: 2 diagnosis steps (line 12)",
        "    Card Declines Spike: 1 diagnosis step (line 45)",
        "  escalation path: none (the policy's levels)",
        "    L2 Search Lead: after 45m",
        "    L4 VP Engineering: after 1d",
        "  experts: Database @dba-team, Networking @net-team",
        f"  {folder / 'search_service.md'}:39: warning: failure mode “Index Missing” has no diagnosis steps",
        "  owner: @platform (from the policy file)",
        "    Certificate Expired: 0 diagnosis steps (a Quick Reference row only)",
        f"  {folder / 'platform_guide.md'}:11: warning: failure mode “Certificate Expired” has no diagnosis",
        "3 services checked: 0 with errors, 2 warnings",
    ):
        assert expected in out, (expected, out)
    assert "the owner “Platform Team”" not in out, "the policy file names platform's owner"
    assert ran.stderr == ""
    assert await asyncio.to_thread(os.listdir, elsewhere) == [], "no database was made"


async def test_errors_exit_1_with_path_and_line(teams_folder: Path) -> None:
    (teams_folder / "runbooks" / "notes.md").write_text("# Notes\n\n**Owner**: @ops\n\nNothing here.\n")
    (teams_folder / "runbooks" / "odd.md").write_text(
        "# Odd\n\n## Incident: \x1b[31mRed\u202e alert\n\n### Diagnosis\n\n1. Look\n\n## Escalation Path\n\n"
        "**Level 3 - Manager**: after 1 hour\n**Level 2 - Lead @leads**: after 30 minutes\n"
    )
    services = [
        {"name": "notes", "runbook": "runbooks/notes.md"},
        {"name": "odd", "runbook": "runbooks/odd.md"},
        {"name": "gone", "runbook": "runbooks/gone.md"},
    ]
    policy = _policy(teams_folder, services)
    ran = await run_bot(["runbooks", "check"], teams_folder, INCIDENT_BOT_CONFIG=str(policy))
    assert ran.returncode == 1, ran.stdout + ran.stderr
    folder = teams_folder / "runbooks"
    for expected in (
        f"  {folder / 'notes.md'}:1: error: no failure modes: head each one `## Incident: <name>`",
        f"  {folder / 'odd.md'}:1: warning: no owner",
        f"  {folder / 'odd.md'}:12: error: L2 comes after L3: the path must go up, L1 to L4",
        f"  {folder / 'odd.md'}:12: error: L2 after 30m is due before L3 (after 1h)",
        f"  {folder / 'gone.md'}: error: cannot read (No such file or directory)",
        "3 services checked: 3 with errors, 1 warning",
    ):
        assert expected in ran.stdout, (expected, ran.stdout)
    assert "\\x1b[31mRed\\u202e alert: 1 diagnosis step" in ran.stdout, "the terminal is not driven"
    assert "\x1b" not in ran.stdout and "\u202e" not in ran.stdout
    as_json = await run_bot(
        ["runbooks", "check", "--format", "json"], teams_folder, INCIDENT_BOT_CONFIG=str(policy)
    )
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert data["errors"] == 4
    notes, odd, gone = data["services"]
    assert notes["problems"][0] == {"line": 1, "kind": "error", "message": notes["problems"][0]["message"]}
    assert odd["escalation"] == [
        {"level": 3, "who": "Manager", "after_seconds": 3600},
        {"level": 2, "who": "Lead @leads", "after_seconds": 1800},
    ]
    assert odd["failure_modes"] == [{"name": "\x1b[31mRed\u202e alert", "steps": 1, "line": 3}]
    assert (gone["readable"], gone["fetch_error"]) == (False, "cannot read (No such file or directory)")


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    s = await HostileServer(body=(RUNBOOKS / "search_service.md").read_text()).start()
    yield s
    await s.stop()


async def test_a_url_runbook_is_fetched_without_a_database_its_token_never_shown(
    tmp_path: Path, server: HostileServer
) -> None:
    url = f"{server.base}/feed/search.md?token={TOKEN}"
    policy = _policy(tmp_path, [{"name": "search", "runbook": url}])
    ran = await run_bot(["runbooks", "check"], tmp_path, INCIDENT_BOT_CONFIG=str(policy))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"search (services[0]): {server.base}/…\n" in ran.stdout
    assert "    Slow Queries: 2 diagnosis steps (line 19)" in ran.stdout
    assert f"  {server.base}/…:39: warning: failure mode “Index Missing”" in ran.stdout
    server.status = 500
    failed = await run_bot(
        ["runbooks", "check", "--format", "json"], tmp_path, INCIDENT_BOT_CONFIG=str(policy)
    )
    assert failed.returncode == 1
    [search] = json.loads(failed.stdout)["services"]
    assert search["fetch_error"] == f"HTTP 500 from {server.base}/…"
    for each in (ran, failed):
        assert TOKEN not in each.stdout + each.stderr
    assert server.requests == [f"/feed/search.md?token={TOKEN}"] * 2
    assert await asyncio.to_thread(os.listdir, tmp_path) == ["incident-bot.toml"], "no database was made"


async def test_a_url_that_fails_falls_back_on_the_bots_copy_as_a_warning(
    harness: Harness, server: HostileServer, tmp_path: Path
) -> None:
    h = harness
    url = f"{server.base}/feed/search.md?token={TOKEN}"
    h.policy = h.policy_for(**LEVELS, services=[{"name": "search", "runbook": url}])
    await h.restart()  # the bot keeps its copy in the database
    await server.stop()
    policy = _policy(tmp_path, [{"name": "search", "runbook": url}])
    ran = await run_bot(
        ["runbooks", "check"], tmp_path, INCIDENT_BOT_CONFIG=str(policy), DATABASE_URL=h.database_url
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"  {server.base}/…: warning: {server.base}/…: ConnectError" in ran.stdout, ran.stdout
    assert "; the bot uses its copy fetched 2026-11-22 03:00 UTC" in ran.stdout, ran.stdout
    assert "    L2 Search Lead: after 45m" in ran.stdout
    assert "1 service checked: 0 with errors, 2 warnings" in ran.stdout
    assert TOKEN not in ran.stdout + ran.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
async def test_serving_refuses_a_runbook_it_cannot_read_in_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "runbooks").mkdir()
    _policy(tmp_path, [{"name": "cache", "runbook": "runbooks/cache.md"}])
    args = [command, "--host", "127.0.0.1", "--port", str(free_port())]
    env = {
        "SLACK_BOT_TOKEN": "xoxb-refusal",
        "SLACK_SIGNING_SECRET": "refusal-secret",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }
    ran = await run_bot([*args, "--http"] if command == "serve" else args, tmp_path, **env)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.splitlines() == [
        "incident-bot: configuration error: services[0].runbook: runbooks/cache.md: cannot read (No such "
        "file or directory)"
    ], ran.stderr


async def test_a_huge_or_redirected_url_runbook_is_an_error_read_no_further(
    tmp_path: Path, server: HostileServer
) -> None:
    services = [
        {"name": "big", "runbook": f"{server.base}/huge/big.md?token={TOKEN}"},
        {"name": "moved", "runbook": f"{server.base}/elsewhere/moved.md?token={TOKEN}"},
    ]
    policy = _policy(tmp_path, services)
    ran = await run_bot(["runbooks", "check"], tmp_path, INCIDENT_BOT_CONFIG=str(policy))
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert (
        f"  {server.base}/…: error: {server.base}/… sent more than the limit: larger than 2000000 bytes"
        in (ran.stdout)
    )
    assert f"  {server.base}/…: error: {server.base}/… redirected to another host (localhost)" in ran.stdout
    assert "2 services checked: 2 with errors, 0 warnings" in ran.stdout
    assert server.sent < 10_000_000, "the answer is not read past the cap"
    assert TOKEN not in ran.stdout + ran.stderr
