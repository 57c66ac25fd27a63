"""Parse `/incident …` text into commands; pure, no Slack calls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain.severity import UPDATE_STATUSES, VALID_SEVERITIES, Severity, Status
from domain.spelling import distance
from messages.text import flatten as text_flatten

MAX_TITLE = 200
MAX_TEXT = 2900


class UsageError(Exception):
    """Bad command input: `problem` for the user, `subcommand` for the syntax hint."""

    def __init__(self, problem: str, subcommand: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.subcommand = subcommand


@dataclass(frozen=True)
class Declare:
    """`/incident declare [--private] [--service <name>] <severity> <title>`."""

    severity: Severity
    title: str
    private: bool = False
    service: str | None = None


@dataclass(frozen=True)
class Update:
    """`/incident update [status] <text>`; `looks_like` is the status (or `resolved`) the first word of
    `text` is one typo away from: then nothing is posted until the person says which they meant."""

    status: Status | None
    text: str
    looks_like: str | None = None


def unescape(text: str) -> str:
    """Undo Slack's entity encoding of &, < and > in payload text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def flatten(text: str) -> str:
    """Plain text for titles: Slack's tokens as words (`<@U1|ann>` → `@ann`), spaces collapsed."""
    return " ".join(text_flatten(text).split())


def title_of(raw: str) -> str:
    """A validated incident title from user text."""
    title = flatten(raw)
    if not title:
        raise UsageError("An incident needs a title.", "declare")
    if len(title) > MAX_TITLE:
        raise UsageError(
            f"The title is {len(title)} characters; keep it under {MAX_TITLE}; details go in the channel.",
            "declare",
        )
    return title


def text_arg(raw: str, what: str, subcommand: str) -> str:
    """Free text for a section (an update, a summary, a note), refused when empty or too long."""
    text = raw.strip()
    if not text:
        raise UsageError(f"Missing {what}.", subcommand)
    if len(text) > MAX_TEXT:
        raise UsageError(
            f"The {what} is {len(text)} characters; Slack shows at most {MAX_TEXT} here. "
            "Post the details as a message in the channel and summarise.",
            subcommand,
        )
    return text


def split(text: str) -> tuple[str, str]:
    """`declare sev2 Title` → (`declare`, `sev2 Title`), with Slack's entities undone."""
    sub, _, rest = unescape(text or "").strip().partition(" ")
    return sub.lower(), rest.strip()


PRIVATE_FLAG = "--private"
SERVICE_FLAG = "--service"


@dataclass(frozen=True)
class DeclareFlags:
    """The flags before `declare`'s severity: `--private`, `--service <name>` (either order)."""

    private: bool = False
    service: str | None = None
    rest: str = ""


def declare_flags(rest: str) -> DeclareFlags:
    """`declare`'s flags and the arguments after them; `--service` without a name is refused."""
    private, service = False, None
    while True:
        first, _, remainder = rest.partition(" ")
        flag, eq, value = first.partition("=")
        if first.lower() == PRIVATE_FLAG:
            private, rest = True, remainder.strip()
        elif flag.lower() == SERVICE_FLAG:
            if not eq:
                value, _, remainder = remainder.strip().partition(" ")
            if not value or value.startswith("--"):
                raise UsageError("`--service` needs the name of a service.", "declare")
            service, rest = value.strip().lower(), remainder.strip()
        else:
            return DeclareFlags(private, service, rest)


def private_flag(rest: str) -> tuple[bool, str]:
    """Whether `declare` was asked for a private incident, and the arguments after the flags."""
    flags = declare_flags(rest)
    return flags.private, flags.rest


def parse_declare(rest: str) -> Declare | None:
    """Arguments of `declare`; None means no arguments besides the flags (open the form)."""
    flags = declare_flags(rest)
    if not flags.rest:
        return None
    first, _, title = flags.rest.partition(" ")
    severity = Severity.parse(first)
    if severity is None:
        raise UsageError(f"Unknown severity `{first}`. Valid severities: {VALID_SEVERITIES}.", "declare")
    return Declare(severity, title_of(title), flags.private, flags.service)


RESOLVED = "resolved"


def status_typo(word: str) -> str | None:
    """The status (or `resolved`) a word of four letters or more is one edit away from."""
    word = word.lower()
    if len(word) < 4:
        return None
    names = [s.value for s in UPDATE_STATUSES] + [RESOLVED]
    return next((name for name in names if distance(word, name) == 1), None)


def parse_update(rest: str) -> Update:
    """Arguments of `update`: an optional status word, then the text."""
    first, _, remainder = rest.strip().partition(" ")
    if first.lower() == RESOLVED:
        raise UsageError("To resolve the incident use `/incident resolve <summary>`.", "resolve")
    status = next((s for s in UPDATE_STATUSES if s.value == first.lower()), None)
    looks_like = None if status else status_typo(first)
    if looks_like and not remainder.strip():
        if looks_like == RESOLVED:
            raise UsageError("To resolve the incident use `/incident resolve <summary>`.", "resolve")
        raise UsageError(f"`{first}` looks like the status *{looks_like}*; what changed?", "update")
    return Update(status, text_arg(remainder if status else rest, "update text", "update"), looks_like)


def parse_resolve(rest: str) -> str:
    """The resolution summary."""
    return text_arg(rest, "resolution summary", "resolve")


@dataclass(frozen=True)
class Mention:
    """A person picked with Slack's autocomplete: `<@U123|name>` or `<@U123>`."""

    user_id: str
    name: str | None


_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^<>]*))?>$")


def parse_mention(rest: str, subcommand: str) -> Mention:
    """Exactly one user mention; a plain `@name` is refused with a hint to use autocomplete."""
    arg = rest.strip()
    if not arg:
        raise UsageError("Who? Mention the person.", subcommand)
    m = _USER_MENTION.match(arg)
    if m is None:
        if arg.startswith("@"):
            raise UsageError(
                f"I can't tell who `{arg}` is. Type `@` and pick the person from Slack's autocomplete.",
                subcommand,
            )
        raise UsageError(f"`{arg}` is not a person; mention them with `@`.", subcommand)
    return Mention(m.group(1), m.group(2) or None)


def clicked_number(body: dict[str, Any]) -> int | None:
    """The number a clicked button carries as its value (a page, an incident, a follow-up)."""
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class CheckboxTick:
    """A checkbox ticked or unticked on a message: its action id, where, and who asked (the fields
    every click request carries)."""

    action_id: str
    channel: str
    message_ts: str
    checked: bool
    asked: dict[str, Any]


def checkbox_tick(body: dict[str, Any]) -> CheckboxTick | None:
    """The tick a `block_actions` payload carries; None without a channel or message."""
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("channel") or {}).get("id")
    message_ts = (body.get("container") or {}).get("message_ts")
    if not (action.get("action_id") and channel and message_ts):
        return None
    asked = {
        "user": body["user"]["id"],
        "user_name": body["user"].get("username"),
        "response_url": body.get("response_url"),
        "trigger_id": body.get("trigger_id"),
    }
    return CheckboxTick(action["action_id"], channel, message_ts, bool(action.get("selected_options")), asked)
