"""`/incident <sub>`: what each subcommand handler gets (`Invocation`) and the registry the features
add their subcommands to (the one source of `/incident help`, usage hints and "did you mean")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from domain.severity import UPDATE_STATUSES
from domain.spelling import closest
from handlers import parse as p
from handlers.replies import run_reporting
from runtime.ops import Command, Intake
from runtime.tasks import BackgroundTasks
from services.workspace import needs


@dataclass
class Invocation:
    """One `/incident <sub> <args>` call, as the subcommand handlers see it."""

    sub: str
    args: str
    user: str
    channel: str
    trigger_id: str | None
    response_url: str | None
    user_name: str | None
    ack: AsyncAck
    respond: AsyncRespond
    intake: Intake
    tasks: BackgroundTasks

    def asked(self) -> dict[str, Any]:
        """The fields every `Command` request carries: who asked, where, and where to answer."""
        return {
            "command": f"{self.sub} {self.args}".strip()[:120],
            "user": self.user,
            "user_name": self.user_name,
            "channel": self.channel,
            "response_url": self.response_url,
            "trigger_id": self.trigger_id,
        }

    async def reply(self, text: str) -> None:
        """An ephemeral message to the caller (via response_url)."""
        await self.respond(text=text, response_type="ephemeral", replace_original=False)

    def later(self, work: Awaitable[str | None], name: str) -> None:
        """Read-only work after the ack; its returned text (or refusal) goes back to the caller."""
        self.tasks.spawn(run_reporting(work, self.reply), name=name)

    async def store(self, request: Command, ack_text: str | None = None) -> None:
        """Keep the request in the inbox (durable before the answer), then ack. It is carried out in
        order with everything else of its order key (this channel's incident; a declaration is its own)."""
        await self.intake.keep(request)
        await self.ack(text=ack_text) if ack_text else await self.ack()


Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    """One `/incident <name>`: its handler, the services it names, and its forms for help."""

    name: str
    handler: Handler
    needs: tuple[str, ...]
    usage: tuple[tuple[str, str], ...]  # (syntax, what it does)


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


class Subcommands:
    """Every `/incident` subcommand, by every name (aliases included)."""

    def __init__(self) -> None:
        self.by_name: dict[str, Subcommand] = {}

    def add(self, *names: str, handler: Handler, usage: list[tuple[str, str]]) -> None:
        """`/incident <name>` runs `handler(inv, <the services it names>)`; the first name is the
        canonical one; `usage` is each form as (arguments, one line of help)."""
        entry = Subcommand(
            names[0],
            handler,
            needs(handler, after=1),
            tuple((f"{names[0]} {args}".strip(), what) for args, what in usage),
        )
        for name in names:
            if name in self.by_name:
                raise ValueError(f"subcommand {name!r} registered twice")
            self.by_name[name] = entry

    def get(self, name: str) -> Subcommand | None:
        return self.by_name.get(name)

    def forms(self) -> list[tuple[str, str]]:
        """Every form of every subcommand, as (syntax, what it does), in help order (`help` last)."""
        unique = {entry.name: entry for entry in self.by_name.values()}
        rank = {name: i for i, name in enumerate(HELP_ORDER)}
        ordered = sorted(unique.values(), key=lambda e: (e.name == "help", rank.get(e.name, len(rank))))
        return [form for entry in ordered for form in entry.usage]

    def syntax(self, name: str | None) -> list[str]:
        """The syntax lines of one subcommand (for a usage hint)."""
        entry = self.by_name.get(name or "")
        return [form for form, _ in entry.usage] if entry else []

    def suggestion(self, word: str) -> str | None:
        """What a mistyped subcommand most likely meant: `update <status>` for a status (or one edit
        from one), `resolve` for `resolved`, else the closest subcommand when it is close enough."""
        status = next((s.value for s in UPDATE_STATUSES if s.value == word), None) or p.status_typo(word)
        if status == p.RESOLVED or word == p.RESOLVED:
            return "resolve"
        if status:
            return f"update {status}"
        return closest(word, self.by_name)
