"""Running a read-only command's after-ack part and telling the user how it went."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from domain.errors import IncidentError
from messages.help import error
from runtime.journal import Outcome

log = logging.getLogger(__name__)

Reply = Callable[[str], Awaitable[Any]]


async def run_reporting(work: Awaitable[str | None], reply: Reply) -> None:
    """Await the work; reply with its message, a refusal, or a plain apology on a bug."""
    try:
        text = await work
    except IncidentError as exc:
        await reply(error(str(exc)).text)
        return
    except Exception:
        log.exception("command failed")
        await reply(":x: Something went wrong on our side; the error is in the bot's log. Try again.")
        return
    if text:
        await reply(text)


def warnings_text(warnings: list[str]) -> str:
    """A short list of Slack steps that failed, for the declarer."""
    return "".join(f"\n:warning: {w}" for w in warnings)


def quiet(out: Outcome) -> str | None:
    """Updates and resolutions speak in the channel; only Slack failures go back to the caller."""
    return ("Done, but:" + warnings_text(out.warnings)) if out.warnings else None
