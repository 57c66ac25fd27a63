"""`/incident help` and the one-line usage hints shown with every error."""

from __future__ import annotations

from collections.abc import Sequence

from domain.severity import Severity
from messages.blocks import Message, context, header, section
from messages.text import entities, guard


def _code(syntax: str) -> str:
    # `<…>` is a control sequence in mrkdwn even inside backticks: spell the brackets as entities.
    return f"`/incident {entities(syntax)}`"


def usage(syntaxes: Sequence[str]) -> str:
    """The syntax line(s) of one subcommand, e.g. `/incident update [status] <text>`."""
    return " or ".join(_code(syntax) for syntax in syntaxes) if syntaxes else "`/incident help`"


def help_message(commands: Sequence[tuple[str, str]]) -> Message:
    """Every command, as (syntax, what it does), with its syntax."""
    body = "\n".join(f"{_code(syntax)}\n      {entities(what)}" for syntax, what in commands)
    return Message(
        # The fallback stays short: the blocks carry the list (and the ack stays small).
        text="incident-bot commands: /incident declare, update, resolve, status, help …",
        blocks=[
            header("incident-bot commands"),
            section(body),
            context(
                "Severity: "
                + " · ".join(f"{sev} {sev.label.lower()}" for sev in Severity)
                + " (P0–P3 work too)."
            ),
        ],
    )


def error(problem: str, syntaxes: Sequence[str] = ()) -> Message:
    """An ephemeral reply: what was wrong and the right syntax."""
    hint = f"\nUsage: {usage(syntaxes)}" if syntaxes else "\nSee `/incident help` for every command."
    return Message(text=f":warning: {guard(problem)}{hint}")
