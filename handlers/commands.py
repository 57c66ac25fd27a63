"""The `/incident` slash command: split off the subcommand and hand it to its registered handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import logs
from bot.context import BotContext
from handlers import parse as p
from handlers.replies import run_reporting
from messages.help import error

log = logging.getLogger(__name__)


@dataclass
class Invocation:
    """One `/incident <sub> <args>` call, as the subcommand handlers see it."""

    ctx: BotContext
    sub: str
    args: str
    user: str
    channel: str
    trigger_id: str | None
    ack: AsyncAck
    respond: AsyncRespond

    async def reply(self, text: str) -> None:
        """An ephemeral message to the caller (via response_url)."""
        await self.respond(text=text, response_type="ephemeral", replace_original=False)

    def later(self, work: Awaitable[str | None], name: str) -> None:
        """Run `work` after the ack; its returned text (or refusal) goes back to the caller."""
        self.ctx.tasks.spawn(run_reporting(work, self.reply), name=name)


Handler = Callable[[Invocation], Awaitable[None]]
SUBCOMMANDS: dict[str, Handler] = {}


def subcommand(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for `/incident <name>` (the first name is the canonical one)."""

    def deco(fn: Handler) -> Handler:
        for name in names:
            if name in SUBCOMMANDS and SUBCOMMANDS[name] is not fn:
                raise ValueError(f"subcommand {name!r} registered twice")
            SUBCOMMANDS[name] = fn
        return fn

    return deco


def register(app: AsyncApp, ctx: BotContext) -> None:
    """Attach the `/incident` listener."""

    @app.command("/incident")
    async def incident_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        logs.bind(request_id=command.get("trigger_id"))  # on every log line of this command's work
        sub, args = p.split(command.get("text", ""))
        if command.get("user_name"):
            ctx.tasks.spawn(
                ctx.roles.remember_names({command["user_id"]: command["user_name"]}), name="names"
            )
        handler = SUBCOMMANDS.get(sub or "help")
        if handler is None:
            await ack(text=error(f"Unknown command `{sub}`.").text)
            return
        inv = Invocation(
            ctx,
            sub or "help",
            args,
            command["user_id"],
            command["channel_id"],
            command.get("trigger_id"),
            ack,
            respond,
        )
        try:
            await handler(inv)
        except p.UsageError as exc:
            await ack(text=error(exc.problem, exc.subcommand).text)
