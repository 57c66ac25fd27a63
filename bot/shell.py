"""A local Slack workspace in the terminal: the real app, the emulator, a temporary database.

Used by `incident-bot shell` (interactive or `--script FILE`) and `incident-bot demo` (bundled script).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from aiohttp import web

from bot.runtime import SLACK_PATH, Bot
from domain.durations import parse_duration
from config.policy import Policy, policy_from_dict
from config.settings import Settings
from messages.postmortem import markdown
from services.clock import FakeClock
from services.timeline import load_postmortem
from slack_emulator import SlackDriver, SlackDriverError, SlackEmulator
from slack_emulator.render import buttons

SIGNING_SECRET = "shell-signing-secret"

DEMO_SCRIPT = """\
# A SEV2 from declaration to postmortem draft, as Slack would drive it, with the clock moved forward.
# alice is on call (L1), bob is team lead (L2), carol the engineering manager (L3).
/incident declare sev2 Checkout is failing for EU customers
# L1 is paged by DM at once; alice acknowledges from the DM.
click 3 Acknowledge
cd #incident
/incident scribe <@U0BOB|bob>
say Seeing 502s from the payments gateway since the 02:55 deploy
react 6 pushpin
as @bob
say Gateway pods are OOM-killed after the deploy; rolling back
as @alice
/incident update identified Bad deploy of payments-gateway; rolling back
wait 25m
as @bob
say Rollback finished, error rate back to baseline
as @alice
/incident note Customer support confirms checkouts are going through again
# 30 minutes in: L2 (bob) is paged; 35 minutes after the update, the reminder nudges alice.
wait 10m
/incident update monitoring Error rate normal for 10 minutes
wait 5m
/incident resolve Rolled back payments-gateway 4.2.0; OOM from the new cache size
export
"""

HELP = """\
/incident <args>       run the slash command as the current user in the current channel
say <text>             post a message as the current user in the current channel
react <n> <emoji>      add a reaction to message #n (as numbered in the output)
unreact <n> <emoji>    remove it again
click <n> <button>     press a button (by its label) on message #n
as <@user>             act as another user (alice, bob, carol, dave)
cd <#channel>          switch channel; `cd #incident` picks the newest incident channel
wait <duration>        move the clock forward (e.g. 30m, 1h) and run what falls due
export [INC-n]         print the postmortem draft of this channel's incident (or INC-n)
dms <@user>            show that person's direct messages from the bot
channels               list channels
help                   this text;  quit / exit / Ctrl-D leaves"""

_ANSI = {"SEV1": "1;41;97", "SEV2": "1;31", "SEV3": "1;33", "SEV4": "1;34", "head": "1;36", "dim": "2"}
_STATUS = re.compile(r"\b(Investigating|Identified|Mitigating|Monitoring|Resolved)\b")


class ShellError(Exception):
    """A bad shell command: shown as a one-line hint, never a crash."""


class Shell:
    """One workspace: emulator + real bot over HTTP + a signed-request driver + a movable clock."""

    def __init__(self, out: TextIO = sys.stdout, *, colour: bool | None = None) -> None:
        self.out = out
        self.colour = colour if colour is not None else (out.isatty() and "NO_COLOR" not in os.environ)
        start = datetime.now(UTC).replace(second=0, microsecond=0)
        self.clock = FakeClock(start)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._shown = 0
        self._numbered: list[tuple[str, str]] = []  # (channel id, ts) by display number - 1

    async def start(self) -> Shell:
        """Start the emulator with a small team and the bot on a temporary SQLite file (or DATABASE_URL)."""
        self.emu = SlackEmulator(now=self.clock.timestamp)
        await self.emu.start()
        self.emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
        self.channel = self.emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
        self.users = {
            name: self.emu.add_user(name, user_id=f"U0{name.upper()}", real_name=real)
            for name, real in (
                ("alice", "Alice Ops"),
                ("bob", "Bob Lead"),
                ("carol", "Carol Manager"),
                ("dave", "Dave CTO"),
            )
        }
        self.user = self.users["alice"]
        db_url = os.environ.get("DATABASE_URL")
        if not db_url:
            self._tmp = tempfile.TemporaryDirectory(prefix="incident-bot-shell-")
            db_url = f"sqlite:///{Path(self._tmp.name) / 'shell.db'}"
        settings = Settings(
            slack_bot_token=self.emu.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.emu.base_url,
            database_url=db_url,
            _env_file=None,
        )
        self.bot = Bot(settings, self._policy(), clock=self.clock, scheduler=False)
        await self.bot.start()
        self.runner = web.AppRunner(self.bot.web_app(), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{self.runner.addresses[0][1]}{SLACK_PATH}"
        self.driver = SlackDriver(self.emu, url, SIGNING_SECRET)
        return self

    def _policy(self) -> Policy:
        u = {name: f"U0{name.upper()}" for name in ("alice", "bob", "carol", "dave")}
        return policy_from_dict(
            {
                "announce_channel": "C0INCIDENTS",
                "escalation": {
                    "levels": [
                        {"name": "L1", "title": "On-call engineer", "users": [u["alice"]], "after": "0s"},
                        {"name": "L2", "title": "Team lead", "users": [u["bob"]], "after": "30m"},
                        {"name": "L3", "title": "Engineering manager", "users": [u["carol"]], "after": "1h"},
                        {"name": "L4", "title": "CTO/VP", "users": [u["dave"]], "after": "2h"},
                    ]
                },
            }
        )

    async def stop(self) -> None:
        """Stop the bot and the emulator; remove the temporary database."""
        await self.driver.close()
        await self.runner.cleanup()
        await self.bot.stop()
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
        ws = self.emu.state
        return f"{ws.user_name(self.user)}@{ws.channel_label(self.channel)} $ "

    async def run(self, line: str) -> bool:
        """Run one command and print what happened; False when the user asked to quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        if word in ("quit", "exit"):
            return False
        handler = self._commands().get(word if not word.startswith("/") else "/")
        try:
            if handler is None:
                raise ShellError(f"unknown command {word!r}; type `help` for the list")
            await handler(line if word.startswith("/") else rest.strip())
        except ShellError as exc:
            self._write(self._paint(f"! {exc}", "SEV3"))
        except (SlackDriverError, ValueError, KeyError) as exc:
            self._write(self._paint(f"! {exc}", "SEV3"))
        except Exception as exc:  # a shell never dies on a bad line
            self._write(self._paint(f"! that failed: {exc!r}; type `help`", "SEV3"))
        await self.bot.ctx.settle()
        await self.bot.ctx.tick()  # what fell due: pages at declaration, or after `wait`
        await self.bot.ctx.settle()
        self._flush()
        return True

    def _commands(self) -> dict[str, Callable[[str], object]]:
        return {
            "/": self._slash,
            "say": self._say,
            "react": self._react,
            "unreact": self._unreact,
            "click": self._click,
            "as": self._as,
            "cd": self._cd,
            "wait": self._wait,
            "dms": self._dms,
            "channels": self._channels,
            "export": self._export,
            "help": self._help,
        }

    async def _slash(self, line: str) -> None:
        command, _, text = line.partition(" ")
        if command != "/incident":
            raise ShellError(f"unknown slash command {command}; this app has /incident")
        await self.driver.command(self.user, self.channel, text.strip())

    async def _say(self, text: str) -> None:
        if not text:
            raise ShellError("say what? `say <text>`")
        await self.driver.say(self.user, self.channel, text)

    async def _react(self, args: str) -> None:
        channel, ts, emoji = self._message_and_arg(args, "react <n> <emoji>")
        await self.driver.react(self.user, channel, ts, emoji.strip(":"))

    async def _unreact(self, args: str) -> None:
        channel, ts, emoji = self._message_and_arg(args, "unreact <n> <emoji>")
        await self.driver.unreact(self.user, channel, ts, emoji.strip(":"))

    async def _click(self, args: str) -> None:
        channel, ts, label = self._message_and_arg(args, "click <n> <button label>")
        ch = self.emu.channel(channel)
        msg = ch.find(ts) if ch else None
        choices = buttons(msg.blocks if msg else None)
        button = next((b for b in choices if b.text.lower() == label.lower()), None)
        if button is None:
            names = ", ".join(repr(b.text) for b in choices) or "none"
            raise ShellError(f"no button {label!r} on that message (buttons: {names})")
        await self.driver.click(self.user, channel, ts, button.action_id, button.value)

    def _message_and_arg(self, args: str, usage: str) -> tuple[str, str, str]:
        n, _, arg = args.partition(" ")
        if not n.isdigit() or not arg.strip():
            raise ShellError(f"usage: {usage}")
        if not 1 <= int(n) <= len(self._numbered):
            raise ShellError(f"no message #{n} shown yet")
        channel, ts = self._numbered[int(n) - 1]
        return channel, ts, arg.strip()

    async def _as(self, who: str) -> None:
        self.user = self._user(who)
        self._write(self._paint(f"(you are now @{self.emu.state.user_name(self.user)})", "dim"))

    async def _cd(self, where: str) -> None:
        name = where.strip().lstrip("#")
        if not name:
            raise ShellError("usage: cd #channel")
        ch = self.emu.channel(name)
        if ch is None and name == "incident":
            newest = [c for c in self.emu.state.channels.values() if c.name.startswith("incident-")]
            ch = newest[-1] if newest else None
        if ch is None:
            raise ShellError(f"no channel #{name}; `channels` lists them")
        self.channel = ch.id
        self._write(self._paint(f"(now in #{ch.name})", "dim"))

    async def _wait(self, arg: str) -> None:
        try:
            delta = parse_duration(arg.strip())
        except ValueError:
            raise ShellError("usage: wait <duration>, like 90s, 30m, 1h") from None
        self.clock.advance(timedelta(seconds=delta.total_seconds()))
        self._write(self._paint(f"(clock is now {self.clock.now():%Y-%m-%d %H:%M} UTC)", "dim"))

    async def _dms(self, who: str) -> None:
        user = self._user(who)
        dms = self.emu.dms(user)
        if not dms:
            self._write(f"(no DMs to @{self.emu.state.user_name(user)})")
        for msg in dms:
            lines = self.emu.state.render(msg.get("text", ""), msg.get("blocks")) or [msg.get("text", "")]
            self._write(self._colourise("\n".join(f"    {line}" for line in ["", *lines])[1:]))

    async def _channels(self, _arg: str) -> None:
        for ch in self.emu.state.channels.values():
            if not ch.is_im:
                self._write(f"  #{ch.name}  ({ch.id})")

    async def _export(self, arg: str) -> None:
        ref = arg.strip() or self.channel
        data = await load_postmortem(self.bot.ctx.db, ref)
        if data is None:
            raise ShellError(f"no incident {ref}; `cd` to an incident channel or give INC-<n>")
        self._write(markdown(data))

    async def _help(self, _arg: str) -> None:
        self._write(HELP)

    def _user(self, who: str) -> str:
        token = who.strip()
        match = re.fullmatch(r"<@(\w+)(\|[^>]*)?>", token)
        if match:
            token = match.group(1)
        token = token.lstrip("@")
        if token in self.emu.state.users:
            return token
        if token in self.users:
            return self.users[token]
        raise ShellError(f"no user {who!r}; try one of {', '.join('@' + u for u in self.users)}")

    # output

    def _flush(self) -> None:
        """Print activity-log entries not shown yet, numbering messages for react/click."""
        log = self.emu.log
        for entry in log[self._shown :]:
            if entry.kind == "command":
                continue
            text = entry.format()
            if entry.kind == "pin":  # the pinned message was just shown; its first line is enough
                text = "\n".join(text.splitlines()[:2])
            if entry.ts and entry.kind in ("message", "reply", "dm"):
                self._numbered.append((entry.channel_id, entry.ts))
                text = f"#{len(self._numbered)} {text}"
            self._write(self._colourise(text))
        self._shown = len(log)

    def _colourise(self, text: str) -> str:
        if not self.colour:
            return text
        head, _, body = text.partition("\n")
        head = self._paint(head, "head")
        body = re.sub(r"\bSEV[1-4]\b", lambda m: self._paint(m.group(0), m.group(0)), body)
        body = _STATUS.sub(lambda m: f"\x1b[1m{m.group(0)}\x1b[0m", body)
        return head + ("\n" + body if body else "")

    def _paint(self, text: str, style: str) -> str:
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if self.colour else text

    def _write(self, text: str) -> None:
        print(text, file=self.out, flush=True)


async def run_script(lines: Iterable[str], out: TextIO = sys.stdout) -> int:
    """Run shell commands from a script in a fresh workspace."""
    shell = await Shell(out).start()
    try:
        await shell.run_lines(lines)
    finally:
        await shell.stop()
    return 0


async def run_interactive() -> int:
    """Read commands from the terminal until `quit` or end of input (input runs off the event loop)."""
    loop = asyncio.get_running_loop()
    shell = await Shell().start()
    shell._write("incident-bot shell: a local Slack workspace with the real bot. Type `help`.")
    try:
        while True:
            try:
                line = await loop.run_in_executor(None, input, shell.prompt())
            except EOFError:
                break
            if not await shell.run(line):
                break
    finally:
        await shell.stop()
    return 0


async def run_demo(out: TextIO = sys.stdout) -> int:
    """The bundled demo: a SEV2 from declaration to resolution."""
    return await run_script(DEMO_SCRIPT.splitlines(), out)
