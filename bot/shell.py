"""A local Slack workspace in the terminal: the real app, the emulator, a throw-away database.

Used by `incident-bot shell` (interactive, or `--script FILE`) and `incident-bot demo` (bundled script).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from bot import shell_install as install
from bot.runtime import SLACK_PATH, Bot
from bot.shell_clock import ShellClock
from bot.shell_content import DEMO_SCRIPT, HELP, TEAM, policy
from bot.shell_enter import until_enter
from bot.shell_forms import HINT as FORM_HINT
from bot.shell_forms import Forms
from bot.shell_install import InstallCommands, InstallError
from bot.shell_paint import Painting
from bot.shell_people import PeopleCommands, add_strangers, mentions, unknown_hint
from config.policy_file import policy_from_dict
from config.settings import Settings
from domain.durations import parse_duration
from messages.postmortem import markdown
from services.timeline import load_postmortem
from slack_emulator import SlackDriver, SlackDriverError, SlackEmulator
from slack_emulator.render import buttons
from storage.handoffs import HandoffRepo
from storage.repositories import IncidentRepo
from storage.schedule import PAGE, PENDING, REMINDER, ScheduleRepo

SIGNING_SECRET = "shell-signing-secret"
# `wait` never moves the clock further than this past work that is due: under the escalation's
# LATE_AFTER (30 s), so nothing is reported as sent late "while the bot was down".
STEP = timedelta(seconds=15)


class ShellError(Exception):
    """A bad shell command: shown as a one-line hint, never a crash."""


class Shell(InstallCommands, PeopleCommands, Painting):
    """One workspace: emulator + real bot over HTTP + a signed-request driver + a clock `wait` moves."""

    def __init__(self, out: TextIO | None = None, *, colour: bool | None = None) -> None:
        self.out = out = out if out is not None else sys.stdout  # looked up now, not at import
        self.colour = colour if colour is not None else (out.isatty() and "NO_COLOR" not in os.environ)
        self.clock = ShellClock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._shown: dict[str, int] = {}  # activity-log entries printed, per workspace
        self._numbered: list[tuple[str, str]] = []  # (channel id, ts) by display number - 1
        self.lock = asyncio.Lock()  # one command or background tick at a time

    async def start(self, database_url: str | None = None, own_policy: dict[str, Any] | None = None) -> Shell:
        """Start the emulator with a small team and the bot on `database_url`, by default a temporary
        SQLite file (never DATABASE_URL: a demo incident must not land in a real database); with
        `own_policy` (a policy file's tables) instead of the built-in one."""
        self.emu = SlackEmulator(now=self.clock.timestamp)
        await self.emu.start()
        self.ws = self.emu.state
        self.home = self.ws.team_id  # the first workspace: where the bot starts, with one token
        self.emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
        self.channel = self.emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
        for name, real in TEAM:
            self.emu.add_user(name, user_id=f"U0{name.upper()}", real_name=real)
        self.users = install.people_of(self.ws.team_id, default=True)
        self.user = self.users["alice"]
        if not database_url:
            self._tmp = tempfile.TemporaryDirectory(prefix="incident-bot-shell-")
            database_url = f"sqlite:///{Path(self._tmp.name) / 'shell.db'}"
        # The app's credentials, for "Sign in with Slack" in the web view (and `install`'s OAuth).
        self.emu.register_app(install.CLIENT_ID, install.CLIENT_SECRET)
        self.settings = Settings(
            slack_bot_token=self.emu.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.emu.base_url,
            database_url=database_url,
            slack_client_id=install.CLIENT_ID,
            slack_client_secret=install.CLIENT_SECRET,
            incident_bot_session_secret=install.new_key(),
            _env_file=None,
        )
        self.policy = own_policy if own_policy is not None else policy(self.clock.now())
        add_strangers(self.emu, self.policy)
        self.forms = Forms(lambda: self.ws, lambda: self.driver, self._user, self._channel_id)
        await self._start_bot()
        return self

    async def _start_bot(self, port: int = 0) -> None:
        self.bot = Bot(self.settings, policy_from_dict(self.policy), clock=self.clock, scheduler=False)
        await self.bot.start()
        self.runner = web.AppRunner(self.bot.web_app(), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.drivers = {
            team: SlackDriver(self.emu, self.url + SLACK_PATH, SIGNING_SECRET, team=team)
            for team in self.emu.workspaces
        }

    async def _stop_bot(self) -> None:
        for driver in self.drivers.values():
            await driver.close()
        await self.runner.cleanup()
        await self.bot.stop()

    @property
    def web_url(self) -> str:
        """Where the web view is, signed in through the emulator's Sign in with Slack."""
        return f"{self.url}/ui/"

    @property
    def driver(self) -> SlackDriver:
        """Slack of the current workspace, towards the bot."""
        return self.drivers[self.ws.team_id]

    async def stop(self) -> None:
        """Stop the bot and the emulator; remove the temporary database."""
        await self._stop_bot()
        await self.emu.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    # running commands

    async def run_lines(self, lines: Iterable[str], *, echo: bool = True) -> None:
        """Run commands one by one, echoing each after a prompt (for scripts and the demo)."""
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if echo:
                self._write(self._paint(f"{self.prompt()}{line.strip()}", "dim"))
            if not await self.run(line):
                break

    def prompt(self) -> str:
        """`alice@#general $ `."""
        ws = self.ws
        return f"{ws.user_name(self.user)}@{ws.channel_label(self.channel)} $ "

    async def run(self, line: str) -> bool:
        """Run one command and print what happened; False when the user asked to quit.

        An empty line only shows what the bot did meanwhile."""
        line = line.strip()
        word, _, rest = line.partition(" ")
        if word in ("quit", "exit"):
            return False
        async with self.lock:
            if line and not line.startswith("#"):
                await self._dispatch(word, line if word.startswith("/") else rest.strip())
            await self._catch_up()
            self._flush()
        return True

    async def _dispatch(self, word: str, arg: str) -> None:
        handler = self._commands().get(word if not word.startswith("/") else "/")
        try:
            if handler is None:
                raise ShellError(f"unknown command {word!r}; type `help` for the list")
            await handler(arg)
        except (ShellError, InstallError, SlackDriverError, ValueError, KeyError) as exc:
            self._flush()
            self._write(self._paint(f"! {exc}", "SEV3"))
        except Exception as exc:  # a shell never dies on a bad line
            self._flush()
            self._write(self._paint(f"! that failed: {exc!r}; type `help`", "SEV3"))

    async def tick(self) -> None:
        """Background work of an idle interactive shell: what falls due happens on time."""
        async with self.lock:
            await self._catch_up()

    async def _catch_up(self) -> None:
        await self.bot.settle()
        await self.bot.refresh_calendars()  # the scheduler's calendar job (bounded per fetch)
        await self.bot.tick()  # what fell due: pages at declaration, or after `wait`
        await self.bot.settle()

    def _commands(self) -> dict[str, Callable[[str], object]]:
        return {
            "/": self._slash,
            "say": self._say,
            "react": self._react,
            "unreact": self._unreact,
            "click": self._click,
            "form": self._form,
            "fill": self._fill,
            "submit": self._submit,
            "cancel": self._cancel,
            "as": self._as,
            "cd": self._cd,
            "wait": self._wait,
            "dms": self._dms,
            "channels": self._channels,
            "people": self._people,
            "export": self._export,
            "install": self._install,
            "workspace": self._workspace,
            "help": self._help,
        }

    async def _slash(self, line: str) -> None:
        command, _, text = line.partition(" ")
        if command != "/incident":
            raise ShellError(f"unknown slash command {command}; this app has /incident")
        await self.driver.command(self.user, self.channel, self._mentions(text.strip()))

    async def _say(self, text: str) -> None:
        if not text:
            raise ShellError("say what? `say <text>`")
        await self.driver.say(self.user, self.channel, self._mentions(text))

    async def _react(self, args: str) -> None:
        channel, ts, emoji = self._message_and_arg(args, "react <n> <emoji>")
        await self.driver.react(self.user, channel, ts, emoji.strip(":"))

    async def _unreact(self, args: str) -> None:
        channel, ts, emoji = self._message_and_arg(args, "unreact <n> <emoji>")
        await self.driver.unreact(self.user, channel, ts, emoji.strip(":"))

    async def _click(self, args: str) -> None:
        channel, ts, label = self._message_and_arg(args, "click <n> <button label>")
        ch = self.ws.channel(channel)
        msg = ch.find(ts) if ch else None
        choices = buttons(msg.blocks if msg else None)
        button = next((b for b in choices if b.text.lower() == label.lower()), None)
        if button is None:
            names = ", ".join(repr(b.text) for b in choices) or "none"
            raise ShellError(f"no button {label!r} on that message (buttons: {names})")
        await self.driver.click(self.user, channel, ts, button.action_id, button.value)

    def _message_and_arg(self, args: str, usage: str) -> tuple[str, str, str]:
        """Message #n and the rest of the line; only a message the current user can see in Slack."""
        n, _, arg = args.partition(" ")
        if not n.isdigit() or not arg.strip():
            raise ShellError(f"usage: {usage}")
        if not 1 <= int(n) <= len(self._numbered):
            raise ShellError(f"no message #{n} shown yet")
        channel, ts = self._numbered[int(n) - 1]
        ch = self.ws.channel(channel)
        if ch is not None and (ch.is_im or ch.is_private) and not ch.has_member(self.user):
            ws = self.ws
            if ch.is_im and ch.user:
                who = ws.user_name(ch.user)
                raise ShellError(f"#{n} is a DM to @{who}: only @{who} sees it; `as @{who}` to act as them")
            raise ShellError(f"#{n} is in private {ch.label}, which @{ws.user_name(self.user)} is not in")
        return channel, ts, arg.strip()

    async def _form(self, _arg: str) -> None:
        self._write("\n".join(self.forms.show(self.user)))

    async def _fill(self, args: str) -> None:
        self._write(self._paint(self.forms.fill(self.user, args), "dim"))

    async def _submit(self, _arg: str) -> None:
        problems = await self.forms.submit(self.user)
        self._flush()
        for problem in problems:
            self._write(self._paint(f"! {problem}", "SEV3"))

    async def _cancel(self, _arg: str) -> None:
        self._write(self._paint(self.forms.cancel(self.user), "dim"))

    async def _cd(self, where: str) -> None:
        name = where.strip().lstrip("#")
        if not name:
            raise ShellError("usage: cd #channel")
        self.channel = self._channel_id(name)
        self._write(self._paint(f"(now in {self.ws.channel_label(self.channel)})", "dim"))

    async def _wait(self, arg: str) -> None:
        try:
            delta = parse_duration(arg.strip())
        except ValueError:
            raise ShellError("usage: wait <duration>, like 90s, 30m, 1h") from None
        target = self.clock.now() + delta
        # Skip the quiet stretches only: stop at each page or reminder as it falls due, and tick.
        while (due := await self._next_due()) is not None and due <= target:
            now = self.clock.now()
            self.clock.advance(due - now if due > now else STEP)  # (a job stuck at its time: move on)
            await self._catch_up()
        self.clock.advance(target - self.clock.now())
        self._write(self._paint(f"(clock is now {self.clock.now():%Y-%m-%d %H:%M} UTC)", "dim"))

    async def _next_due(self) -> datetime | None:
        """When the next page or reminder of an open incident, or the next handoff, falls due."""
        due: list[datetime] = []
        async with self.bot.shared.db.session() as s:
            for ctx in await self.bot.workspaces.all():
                team = ctx.team.team_id
                handoff = await HandoffRepo(s, team).next_due()
                schedule = ScheduleRepo(s, team)
                due += [
                    job.due_at
                    for incident in await IncidentRepo(s, team).open_incidents()
                    for kind in (PAGE, REMINDER)
                    for job in await schedule.jobs(incident.id, kind)
                    if job.state == PENDING
                ]
                due += [handoff] if handoff else []
        return min(due, default=None)

    async def _channels(self, _arg: str) -> None:
        for ch in self.ws.channels.values():
            if not ch.is_im:
                self._write(f"  #{ch.name}  ({ch.id})")

    async def _export(self, arg: str) -> None:
        ref = arg.strip() or self.channel
        data = await load_postmortem(self.bot.shared.db, self.ws.team_id, ref)
        if data is None:
            raise ShellError(f"no incident {ref}; `cd` to an incident channel or give INC-<n>")
        self._write(markdown(data))

    async def _help(self, _arg: str) -> None:
        self._write(HELP)

    def _mentions(self, text: str) -> str:
        """`@carol` as Slack writes a mention; a name nobody has goes as typed, with a hint."""
        text, unknown = mentions(self.ws, text)
        if unknown:
            self._write(self._paint(unknown_hint(unknown), "dim"))
        return text

    def _channel_id(self, where: str) -> str:
        name = where.strip().lstrip("#")
        ch = self.ws.channel(name)
        if ch is None and name == "incident":
            newest = [c for c in self.ws.channels.values() if c.name.startswith("incident-")]
            ch = newest[-1] if newest else None
        if ch is None:
            raise ShellError(f"no channel #{name}; `channels` lists them")
        return ch.id

    # output

    def _flush(self) -> None:
        """Print activity-log entries not shown yet, numbering messages for react/click."""
        log = self.ws.log
        for entry in log[self._shown.get(self.ws.team_id, 0) :]:
            if entry.kind == "command":
                continue
            text = entry.format()
            if entry.kind == "pin":  # the pinned message was just shown; its first line is enough
                text = "\n".join(text.splitlines()[:2])
            if entry.ts and entry.kind in ("message", "reply", "dm"):
                self._numbered.append((entry.channel_id, entry.ts))
                text = f"#{len(self._numbered)} {text}"
            self._write(self._colourise(text))
            if entry.kind == "view":
                self._write(self._paint(FORM_HINT, "dim"))
        self._shown[self.ws.team_id] = len(log)


async def run_script(
    lines: Iterable[str],
    out: TextIO | None = None,
    database_url: str | None = None,
    own_policy: dict[str, Any] | None = None,
) -> int:
    """Run shell commands from a script in a fresh workspace (on `own_policy`, a policy file's tables)."""
    shell = await Shell(out).start(database_url, own_policy)
    try:
        shell._write(shell._paint(f"(web view while this runs: {shell.web_url})", "dim"))
        await shell.run_lines(lines)
    finally:
        await shell.stop()
    return 0


async def run_demo(
    out: TextIO | None = None, database_url: str | None = None, stdin: TextIO | None = None
) -> int:
    """The bundled demo: a SEV2 from declaration to resolution. Given a terminal's `stdin`, its web view
    stays up until Enter; without one it ends at once, pointing at `make shell` for a web view."""
    shell = await Shell(out).start(database_url)
    try:
        await shell.run_lines(DEMO_SCRIPT.splitlines())
        if stdin is None:
            shell._write(shell._paint("(run `make shell` for the web view)", "dim"))
        else:
            shell._write(
                f"Web view: {shell.web_url} (Sign in with Slack: pick who you are); press Enter to stop."
            )
            await until_enter(stdin)
    finally:
        await shell.stop()
    return 0
