"""`/incident help` and the one-line usage hints shown with every error."""

from __future__ import annotations

from functools import cache

from messages.blocks import Message, context, header, section
from messages.text import entities, guard

# (syntax, what it does); the first word of the syntax is the subcommand.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("declare <sev1|sev2|sev3|sev4> <title>", "Open an incident channel, make you commander, announce it"),
    ("declare", "Same, through a form (title, severity, impact)"),
    (
        "update [investigating|identified|mitigating|monitoring] <text>",
        "Post a status update (incident channel)",
    ),
    ("resolve <summary>", "Resolve the incident and post the follow-ups (incident channel)"),
    (
        "severity <sev1|sev2|sev3|sev4>",
        "Change the severity; escalation and reminders follow (incident channel)",
    ),
    ("escalate", "Page the next escalation level now (incident channel)"),
    (
        "statuspage <investigating|identified|monitoring|resolved> <public message>",
        "Create or update the public status page incident (incident channel)",
    ),
    ("status", "Severity, status, roles, age and last update, only to you (incident channel)"),
    ("list", "Open incidents with their channels, severities and ages"),
    ("commander <@person>", "Hand over incident command; `ic` works too (incident channel)"),
    ("scribe <@person>", "Name the scribe: their messages go on the timeline (incident channel)"),
    ("comms <@person>", "Name the communications lead (incident channel)"),
    ("note <text>", "Add a line to the timeline, now (incident channel)"),
    ("timeline [share]", "Show the timeline to you, or post it with `share` (incident channel)"),
    ("postmortem", "Post the blameless postmortem draft as a Markdown file (incident channel)"),
    ("help", "This list"),
)


def _code(syntax: str) -> str:
    # `<…>` is a control sequence in mrkdwn even inside backticks: spell the brackets as entities.
    return f"`/incident {entities(syntax)}`"


def usage(subcommand: str) -> str:
    """The syntax line(s) for one subcommand, e.g. `/incident update [status] <text>`."""
    lines = [_code(syntax) for syntax, _ in COMMANDS if syntax.split()[0] == subcommand]
    return " or ".join(lines) if lines else "`/incident help`"


@cache
def help_message() -> Message:
    """Every command with its syntax."""
    body = "\n".join(f"{_code(syntax)}\n      {entities(what)}" for syntax, what in COMMANDS)
    return Message(
        # The fallback stays short: the blocks carry the list (and the ack stays small).
        text="incident-bot commands: /incident declare, update, resolve, status, help …",
        blocks=[
            header("incident-bot commands"),
            section(body),
            context("Severity: SEV1 critical · SEV2 major · SEV3 minor · SEV4 low (P0–P3 work too)."),
        ],
    )


def error(problem: str, subcommand: str | None = None) -> Message:
    """An ephemeral reply: what was wrong and the right syntax."""
    hint = f"\nUsage: {usage(subcommand)}" if subcommand else "\nSee `/incident help` for every command."
    return Message(text=f":warning: {guard(problem)}{hint}")
