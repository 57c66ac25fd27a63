"""`incident-bot shell` and `demo` as a person starts them: a real process, a real terminal (a pty)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import select
import subprocess
import sys
import termios
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.cli import main
from services.timeline import load_postmortem
from slack_emulator.models import TEAM_ID
from storage.db import Database

LEFT, UP, CTRL_C, CTRL_D = "\x1b[D", "\x1b[A", "\x03", "\x04"
# Only a guard against a hang (which is the bug): nothing here asserts on how long anything takes.
GUARD = 60.0


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1", "TERM": "xterm", **extra}
    env.pop("INCIDENT_BOT_CONFIG", None)
    return env


class Terminal:
    """`incident-bot shell` on a pseudo-terminal: keys in, screen text out."""

    def __init__(self, home: Path, args: tuple[str, ...] = ("shell",), **env: str) -> None:
        self.master, slave = pty.openpty()

        def own_terminal() -> None:  # the pty becomes the controlling terminal, so Ctrl-C is SIGINT
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            stdin=slave, stdout=slave, stderr=slave, cwd=home, env=_env(home, **env),
            preexec_fn=own_terminal,
        )  # fmt: skip
        os.close(slave)
        self.screen = ""

    def keys(self, text: str) -> None:
        """Type: each key sequence separately, as a person would (the tty drops input queued before a ^C)."""
        os.write(self.master, text.encode())

    def expect(self, text: str, count: int = 1) -> str:
        """Read until `text` has appeared `count` times on the screen; return the screen so far."""
        while self.screen.count(text) < count:
            ready, _, _ = select.select([self.master], [], [], GUARD)
            assert ready, f"waited for {text!r}; the screen:\n{self.screen}"
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the process is gone and the pty closed
                chunk = b""
            assert chunk, f"the shell ended before {text!r} appeared; the screen:\n{self.screen}"
            self.screen += chunk.decode(errors="replace")
        return self.screen

    def exit_code(self) -> int:
        """Wait for the process to end, reading what it still prints."""
        while True:
            ready, _, _ = select.select([self.master], [], [], GUARD)
            assert ready, f"the shell did not exit; the screen:\n{self.screen}"
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            self.screen += chunk.decode(errors="replace")
        return self.proc.wait(timeout=GUARD)

    def close(self) -> None:
        """Kill the process if a failed test left it running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@contextmanager
def terminal(home: Path, args: tuple[str, ...] = ("shell",), **env: str) -> Iterator[Terminal]:
    """A shell on a pty, cleaned up whatever happens."""
    term = Terminal(home, args, **env)
    try:
        yield term
    finally:
        term.close()


def test_the_shell_edits_lines_keeps_history_and_leaves_on_ctrl_c_twice_without_a_traceback(
    tmp_path: Path,
) -> None:
    with terminal(tmp_path) as t:
        t.expect("alice@#general $ ")
        t.keys("as @bb")
        t.expect("as @bb")
        t.keys(LEFT)
        t.keys("o\r")  # the cursor went back one character: `as @bob`
        t.expect("(you are now @bob)")
        t.expect("bob@#general $ ")
        t.keys("as @alice\r")
        t.expect("alice@#general $ ", 2)
        t.keys(UP)
        t.keys(UP)
        t.keys("\r")  # two steps back in the history: `as @bob` again
        t.expect("(you are now @bob)", 2)
        t.expect("bob@#general $ ", 2)
        t.keys("say this is never sent")
        t.expect("never sent")
        t.keys(CTRL_C)  # clears the line and stays
        t.expect("bob@#general $ ", 3)
        t.keys("channels\r")
        t.expect("#incidents  (C0INCIDENTS)")
        t.expect("bob@#general $ ", 4)
        t.keys(CTRL_C)  # on an empty line: says how to leave
        t.expect("Ctrl-C again or Ctrl-D to leave")
        t.expect("bob@#general $ ", 5)  # readline waits for keys again (a ^C before that is lost)
        t.keys(CTRL_C)
        assert t.exit_code() == 0, t.screen
    assert "Traceback" not in t.screen and "KeyboardInterrupt" not in t.screen, t.screen
    assert "[message]" not in t.screen, "the cleared line was not sent"
    assert "unknown command" not in t.screen, t.screen


def test_ctrl_d_leaves_and_the_history_is_there_next_time(tmp_path: Path) -> None:
    with terminal(tmp_path) as first:
        first.expect("alice@#general $ ")
        first.keys("as @carol\r")
        first.expect("carol@#general $ ")
        first.keys(CTRL_D)
        assert first.exit_code() == 0, first.screen
    assert "Traceback" not in first.screen, first.screen
    with terminal(tmp_path) as second:
        second.expect("alice@#general $ ")
        second.keys(UP)
        second.keys("\r")
        second.expect("(you are now @carol)")
        second.expect("carol@#general $ ")
        second.keys(CTRL_D)
        assert second.exit_code() == 0, second.screen


def test_demo_and_shell_use_a_throwaway_database_unless_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{real}")
    script = tmp_path / "script.txt"
    script.write_text("/incident declare sev1 Payments are down\n")
    for args in (["demo"], ["shell", "--script", str(script)]):
        assert main(args) == 0
        assert "INC-1" in capsys.readouterr().out
        assert not real.exists(), f"`incident-bot {' '.join(args)}` wrote to DATABASE_URL"
    for command in ("demo", "shell"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "DATABASE_URL" in capsys.readouterr().out
    kept = tmp_path / "kept.db"
    assert main(["shell", "--script", str(script), "--database", f"sqlite:///{kept}"]) == 0
    assert not real.exists()
    assert asyncio.run(_title(f"sqlite:///{kept}", "INC-1")) == "Payments are down"


async def _title(url: str, ref: str) -> str | None:
    db = Database(url)
    try:
        data = await load_postmortem(db, TEAM_ID, ref)
    finally:
        await db.dispose()
    return data.incident.title if data else None


def test_the_demo_keeps_its_web_view_up_until_enter_at_a_terminal(tmp_path: Path) -> None:
    import urllib.request

    with terminal(tmp_path, ("demo",)) as term:
        screen = term.expect("press Enter to stop")
        url = re.findall(r"http://127\.0\.0\.1:\d+/ui/", screen)[-1]
        with urllib.request.urlopen(url + "login", timeout=GUARD) as page:  # the web view still answers
            assert page.status == 200
        term.keys("\r")
        assert term.exit_code() == 0, term.screen
    assert "Traceback" not in term.screen


def test_the_demo_without_a_terminal_ends_and_prints_no_dead_link(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path),
        timeout=GUARD, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "Resolved" in ran.stdout
    assert "http://127.0.0.1" not in ran.stdout, "a web-view link that is dead by the time it is read"
    assert "run `make shell` for the web view" in ran.stdout
