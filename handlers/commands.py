"""The `/incident` slash command: split off the subcommand and hand it to the handler a feature
registered for it, with the services that handler names; `help` lists them all."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from handlers import parse as p
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from handlers.workspace import workspace
from messages.help import error, help_message
from runtime import logs
from services.workspace import given


def register(app: AsyncApp, wiring: Wiring) -> None:
    """Attach the `/incident` listener: split off the subcommand and hand it to its handler."""
    subs = wiring.subcommands

    async def help_(inv: Invocation) -> None:
        """Every command with its syntax, ephemeral."""
        await inv.ack(**help_message(subs.forms()).kwargs())

    subs.add("help", handler=help_, usage=[("", "This list")])

    @app.command("/incident")
    async def incident_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        logs.bind(request_id=command.get("trigger_id"))  # on every log line of this command's work
        sub, args = p.split(command.get("text", ""))
        name = sub or "help"
        entry = subs.get(name)
        if entry is None:
            guess = subs.suggestion(sub)
            hint = f" Did you mean `{guess}`?" if guess else ""
            await ack(text=error(f"Unknown command `{sub}`.{hint}").text)
            return
        services = workspace(context)
        inv = Invocation(
            name,
            args,
            command["user_id"],
            command["channel_id"],
            command.get("trigger_id"),
            command.get("response_url"),
            command.get("user_name"),
            ack,
            respond,
            services.intake,
            services.tasks,
        )
        try:
            await entry.handler(inv, **given(services, entry.needs))
        except p.UsageError as exc:
            await ack(text=error(exc.problem, subs.syntax(exc.subcommand)).text)
