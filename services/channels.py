"""Creating an incident's channel exactly once, whatever Slack answered to earlier attempts."""

from __future__ import annotations

import logging

from domain.channels import channel_name
from domain.errors import IncidentError
from runtime.journal import Steps
from runtime.slack_ops import Channel, SlackOpError, SlackOps

log = logging.getLogger(__name__)
MAX_NAME_ATTEMPTS = 6


async def open_channel(slack: SlackOps, prefix: str, steps: Steps, title: str, private: bool) -> Channel:
    """Create the incident channel once: the name tried is recorded before asking Slack, so a
    retry that meets `name_taken` for its own name adopts the channel instead of making another."""
    done, made = steps.recorded("channel")
    if done:
        return Channel(made["id"], made["name"])
    _, tried = steps.recorded("channel_try")
    for attempt in range(tried["attempt"] if tried else 0, MAX_NAME_ATTEMPTS):
        again = bool(tried and tried["attempt"] == attempt)
        name = tried["name"] if again else channel_name(prefix, steps.at, title, attempt, private)
        if not again:
            await steps.record("channel_try", {"attempt": attempt, "name": name})
        try:
            channel = await slack.create_channel(name, private)
        except SlackOpError as exc:
            if exc.transient:
                raise
            taken = again and exc.error == "name_taken"
            own = await slack.find_own_channel(name, private) if taken else None
            if own is None and exc.error == "name_taken":
                tried = None
                continue
            if own is None:
                raise IncidentError(
                    f"Could not create the incident channel ({exc.error}); nothing was declared."
                ) from exc
            log.info("adopting #%s, created by an earlier attempt whose answer was lost", name)
            channel = own
        await steps.record("channel", {"id": channel.id, "name": channel.name})
        return channel
    raise IncidentError(
        f"Could not create the incident channel (name_taken {MAX_NAME_ATTEMPTS} times); nothing was declared."
    )
