"""The `/incident` slash command: split off the subcommand and hand it to its registered handler."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from domain.severity import UPDATE_STATUSES
from domain.spelling import closest
from handlers import parse as p
from handlers.ops import store
from handlers.replies import run_reporting
from handlers.subcommands import Invocation as NewInvocation
from handlers.wiring import Wiring
from handlers.workspace import workspace
from messages.help import error, help_message
from runtime import logs
from services.workspace import WorkspaceServices, given

log = logging.getLogger(__name__)


@dataclass
class Invocation:
    """One `/incident <sub> <args>` call, as the subcommand handlers see it."""

    ctx: WorkspaceServices
    sub: str
    args: str
    user: str
    channel: str
    trigger_id: str | None
    response_url: str | None
    user_name: str | None
    ack: AsyncAck
    respond: AsyncRespond

    async def reply(self, text: str) -> None:
        """An ephemeral message to the caller (via response_url)."""
        await self.respond(text=text, response_type="ephemeral", replace_original=False)

    def later(self, work: Awaitable[str | None], name: str) -> None:
        """Read-only work after the ack; its returned text (or refusal) goes back to the caller."""
        self.ctx.tasks.spawn(run_reporting(work, self.reply), name=name)

    async def store(self, op: str, ack_text: str | None = None, **args: Any) -> None:
        """Keep the request in the inbox (durable before the answer), then ack. It is carried out in
        order with everything else of this channel's incident; a declaration is its own."""
        data = {
            "command": f"{self.sub} {self.args}".strip()[:120],
            "user": self.user,
            "user_name": self.user_name,
            "channel": self.channel,
            "response_url": self.response_url,
            **args,
        }
        key = f"new:{self.trigger_id or uuid.uuid4().hex}" if op == "declare" else f"ch:{self.channel}"
        await store(self.ctx, self.trigger_id and f"cmd:{self.trigger_id}", key, op, data)
        await self.ack(text=ack_text) if ack_text else await self.ack()


Handler = Callable[[Invocation], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    """One `/incident <name>`: its handler and, for help and usage hints, its forms."""

    name: str
    handler: Handler
    usage: tuple[tuple[str, str], ...]  # (syntax, what it does)


SUBCOMMANDS: dict[str, Subcommand] = {}  # by every name, aliases included
# The order `/incident help` lists them in; a subcommand not named here comes last.
HELP_ORDER = (
    "declare",
    "update",
    "resolve",
    "severity",
    "escalate",
    "statuspage",
    "status",
    "list",
    "followup",
    "followups",
    "postmortem",
    "reopen",
    "oncall",
)


def subcommand(*names: str, usage: list[tuple[str, str]]) -> Callable[[Handler], Handler]:
    """Register a handler for `/incident <name>` (the first name is the canonical one), with each of
    its forms as (arguments, one line of help): the one source of `/incident help` and usage hints."""

    def deco(fn: Handler) -> Handler:
        entry = Subcommand(names[0], fn, tuple((f"{names[0]} {args}".strip(), what) for args, what in usage))
        for name in names:
            if name in SUBCOMMANDS and SUBCOMMANDS[name].handler is not fn:
                raise ValueError(f"subcommand {name!r} registered twice")
            SUBCOMMANDS[name] = entry
        return fn

    return deco


def commands() -> list[tuple[str, str]]:
    """Every form of every subcommand, as (syntax, what it does), in help order (`help` last)."""
    unique = {entry.name: entry for entry in SUBCOMMANDS.values()}
    rank = {name: i for i, name in enumerate(HELP_ORDER)}
    ordered = sorted(unique.values(), key=lambda e: (e.name == "help", rank.get(e.name, len(rank))))
    return [form for entry in ordered for form in entry.usage]


def syntax(name: str | None) -> list[str]:
    """The syntax lines of one subcommand (for a usage hint)."""
    entry = SUBCOMMANDS.get(name or "")
    return [form for form, _ in entry.usage] if entry else []


def suggestion(word: str) -> str | None:
    """What a mistyped subcommand most likely meant: `update <status>` for a status (or one edit from
    one), `resolve` for `resolved`, else the closest registered subcommand when it is close enough."""
    status = next((s.value for s in UPDATE_STATUSES if s.value == word), None) or p.status_typo(word)
    if status == p.RESOLVED or word == p.RESOLVED:
        return "resolve"
    if status:
        return f"update {status}"
    return closest(word, SUBCOMMANDS)


def register(app: AsyncApp, wiring: Wiring) -> None:
    """Attach the `/incident` listener: split off the subcommand and hand it to its handler."""
    subs = wiring.subcommands

    async def help_(inv: NewInvocation) -> None:
        """Every command with its syntax, ephemeral."""
        listed = {form for form, _ in subs.forms()}
        legacy = [form for form in commands() if form[0] not in listed]
        forms = subs.forms()
        await inv.ack(**help_message(forms[:-1] + legacy + forms[-1:]).kwargs())

    subs.add("help", handler=help_, usage=[("", "This list")])

    @app.command("/incident")
    async def incident_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        logs.bind(request_id=command.get("trigger_id"))  # on every log line of this command's work
        sub, args = p.split(command.get("text", ""))
        name = sub or "help"
        entry, legacy = subs.get(name), SUBCOMMANDS.get(name)
        if entry is None and legacy is None:
            guess = subs.suggestion(sub) or suggestion(sub)
            hint = f" Did you mean `{guess}`?" if guess else ""
            await ack(text=error(f"Unknown command `{sub}`.{hint}").text)
            return
        services = workspace(context)
        fields = (
            name,
            args,
            command["user_id"],
            command["channel_id"],
            command.get("trigger_id"),
            command.get("response_url"),
            command.get("user_name"),
            ack,
            respond,
        )
        try:
            if entry is not None:
                inv = NewInvocation(*fields, services.intake, services.tasks)
                await entry.handler(inv, **given(services, entry.needs))
            elif legacy is not None:
                await legacy.handler(Invocation(services, *fields))
        except p.UsageError as exc:
            await ack(text=error(exc.problem, subs.syntax(exc.subcommand) or syntax(exc.subcommand)).text)
