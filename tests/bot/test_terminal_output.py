"""What the command line prints: people's text cannot drive the operator's terminal; `inbox status`
lists what was given up on and what is stuck, with its workspace."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.shell import Shell
from bot.terminal import safe
from slack_emulator.models import TEAM_ID
from storage.inbox import InboxRows, NewItem
from storage.inbox_writer import InboxWriter
from tests.harness import Harness

EVIL = "\x1b[2J\x1b[31m"  # clear the screen, then paint everything red
RAW = ("\x1b", "\x9b", "\u202e", "\x07", "\x7f")


def _clean(out: str) -> None:
    for ch in RAW:
        assert ch not in out, f"a raw {ch!r} reached the terminal: {out!r}"


def test_safe_shows_every_control_character_as_an_escape() -> None:
    text = f"a{EVIL}b\x9b2J\u202eevil\x07\x7f\x00\tc\r\nd\ne\rf\u2028"
    assert safe(text) == "a\\x1b[2J\\x1b[31mb\\x9b2J\\u202eevil\\x07\\x7f\\x00\\tc\\r\\nd\\ne\\rf\\u2028"
    assert safe(text, lines=True).split("\n")[1:] == ["d", "e\\rf\\u2028"], "only line ends stay"
    assert safe("a\r\nb", lines=True) == "a\r\nb", "iCalendar's CRLF lines stay"
    assert safe("Prüfung — 東京 ✓ \\x1b") == "Prüfung — 東京 ✓ \\x1b", "printable text is left as it is"


async def _cli(h: Harness, *args: str, cwd: Path) -> tuple[int, str, str]:
    """Run `incident-bot …` as a process on the harness's database."""
    env = {**os.environ, "DATABASE_URL": h.database_url, "SLACK_BOT_TOKEN": h.emu.bot_token}
    env["SLACK_API_URL"] = h.emu.base_url
    env.pop("INCIDENT_BOT_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_inbox_status_escapes_people_text_and_lists_failed_and_stuck_rows(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.inbox_cli import status

    h = harness
    channel = await h.declare("sev2 Checkout is down")
    h.emu.inject("chat.postMessage", status=503, seconds=3 * 3600)
    await h.command(h.alice, channel, f"note rollback {EVIL}started \u202eevil\x9b")
    await h.advance(seconds=2)
    await h.command(h.alice, channel, "note second look")  # waits behind the failing note
    for _ in range(10):
        await h.advance(minutes=2)
    gone = NewItem("am-1", "am:group-1", "alert", f'{{"title": "disk {EVIL}"}}', TEAM_ID)
    db = h.bot.shared.db
    await InboxWriter(db).add_many([gone], h.clock.now() - timedelta(minutes=10))
    now = h.clock.now()  # a worker claimed it and died: its lease ran out two minutes ago
    [held] = await db.run(lambda c: InboxRows(c).claim(now, now - timedelta(minutes=2), keys=1, run=1))
    capsys.readouterr()
    assert await status(h.settings(), now=h.clock.now()) == 0
    out = capsys.readouterr().out
    _clean(out)
    stuck = [line for line in out.splitlines() if line.startswith("stuck")]
    assert len(stuck) == 3, out
    [alert] = [line for line in stuck if line.startswith("stuck working:")]
    assert "alert" in alert and "lease expired 2m ago" in alert and "am:group-1" in alert, alert
    first = next(line for line in stuck if "rollback" in line)
    assert (
        first.startswith("stuck pending: #") and "/incident note rollback \\x1b[2J\\x1b[31mstarted" in first
    )
    assert "\\u202eevil\\x9b" in first and f"workspace {TEAM_ID}" in first, first
    assert channel in first, first
    assert "attempts" in first and "ago" in first and "service_unavailable" in first, first
    assert any("note second look" in line and "not tried yet" in line for line in stuck), stuck

    await db.run(lambda c: InboxRows(c).finish(held, "done", now))
    for _ in range(30):  # the first note is given up an hour after its first attempt
        await h.advance(minutes=2)
    assert await status(h.settings(), now=h.clock.now()) == 0
    out = capsys.readouterr().out
    _clean(out)
    [failed] = [line for line in out.splitlines() if line.startswith("failed:")]
    assert "/incident note rollback \\x1b[2J\\x1b[31mstarted" in failed and f"workspace {TEAM_ID}" in failed
    assert "attempts" in failed and "service_unavailable" in failed, failed


async def test_cli_outputs_escape_what_people_wrote(harness: Harness, tmp_path: Path) -> None:
    h = harness
    channel = await h.declare(f"sev2 Checkout {EVIL}is down\u202e")
    await h.command(h.alice, channel, f"note {EVIL}rolled back\x9b")
    h.emu.inject("chat.postMessage", status=503, seconds=3 * 3600)
    await h.command(h.alice, channel, f"note beep\x07 {EVIL}")
    for _ in range(35):
        await h.advance(minutes=2)
    code, out, err = await _cli(h, "inbox", "status", cwd=tmp_path)
    assert code == 0, err
    _clean(out + err)
    assert "failed: #" in out and "beep\\x07 \\x1b[2J" in out, out
    for fmt in ("markdown", "json"):
        code, out, err = await _cli(h, "export", "INC-1", "--format", fmt, cwd=tmp_path)
        assert code == 0, err
        _clean(out + err)
        assert "is down" in out and "rolled back" in out, out
    markdown = (await _cli(h, "export", "INC-1", cwd=tmp_path))[1]
    assert "Checkout \\x1b" in markdown and "\\u202e" in markdown, "visible in the draft, inert"
    code, out, err = await _cli(h, "export", f"INC-{EVIL}", cwd=tmp_path)
    assert code == 2 and "\\x1b[2J" in err, err
    _clean(out + err)


async def test_the_shell_shows_people_text_escaped_and_keeps_its_own_colours() -> None:
    out = io.StringIO()
    shell = await Shell(out, colour=True).start(None)
    try:
        await shell.run_lines([f"/incident declare sev2 Checkout {EVIL}is down"])
    finally:
        await shell.stop()
    text = out.getvalue()
    assert "Checkout \\x1b[2J\\x1b[31mis down" in text, text
    assert "\x1b[2J" not in text and "\x1b[31m" not in text.replace("\x1b[1;31m", "")
    assert "\x1b[0m" in text, "the shell still paints its own text"
