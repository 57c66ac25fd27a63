"""Every inbox key, built here and nowhere else.

An order key says which requests are carried out one after another (an incident's channel, a new
incident, an alert group); an idempotency key says which deliveries are the same request (Slack's
event_id, a command's or a click's trigger_id, a form's view id, a webhook body's hash).
"""

from __future__ import annotations

import hashlib
import uuid

_CHANNEL = "ch:"


def channel(channel_id: str) -> str:
    """Order: everything of one incident channel, in the order it was acknowledged."""
    return f"{_CHANNEL}{channel_id}"


def channel_of(order_key: str) -> str | None:
    """The channel an order key stands for, or None when it is not a channel's."""
    return order_key[len(_CHANNEL) :] if order_key.startswith(_CHANNEL) else None


def new_incident(source: str | None) -> str:
    """Order: a declaration has no channel yet; it is its own."""
    return f"new:{source or uuid.uuid4().hex}"


def alert_group(team_id: str, group_key: str) -> str:
    """Order: Alertmanager orders the notifications of one group (within a workspace); so do we."""
    return "alert:" + hashlib.sha256(f"{team_id}\n{group_key}".encode()).hexdigest()


def followup(number: int) -> str:
    """Order: a follow-up whose incident has no channel (rare: an old or half-declared one)."""
    return f"followup:{number}"


def subscribers(incident_id: int) -> str:
    """Order: an incident's news for its subscribers, by DM, in the order it was posted (apart from
    its channel, so DMs being retried never hold up the channel's requests)."""
    return f"subs:{incident_id}"


def unplaced(op: str, number: int) -> str:
    """Order: a click on something whose incident could not be found (it is refused in order)."""
    return f"{op}:{number}"


def command(trigger_id: str | None) -> str | None:
    """Same request: one slash command (Slack retries it with the same trigger_id)."""
    return trigger_id and f"cmd:{trigger_id}"


def click(trigger_id: str | None) -> str | None:
    """Same request: one button press."""
    return trigger_id and f"act:{trigger_id}"


def event(event_id: str | None) -> str | None:
    """Same request: one Events API event (Slack redelivers with the same event_id)."""
    return event_id and f"ev:{event_id}"


def form(view_id: str | None, version: str | None = None) -> str | None:
    """Same request: one submitted form (and, when it is a form that can be sent again, its version)."""
    if not view_id:
        return None
    return f"view:{view_id}:{version}" if version else f"view:{view_id}"


def news(key: str) -> str:
    """Same request: one piece of news queued for the subscribers (the key its posting request kept)."""
    return f"news:{key}"


def workflow(event_id: str, name: str) -> str:
    """Same request: one workflow set off by one incident event (the outbox's event id)."""
    return f"wf:{event_id}:{name}"


def typo_answer(question_id: str) -> str:
    """Same request: every answer to one "did you mean a status?" question (the first one counts)."""
    return f"typo:{question_id}"


def github(body: bytes) -> str:
    """Same request: one GitHub webhook body. Not X-GitHub-Delivery: whoever holds a signed body can
    send it again under any delivery id; the body names the action and the issue's updated_at."""
    return "gh:" + hashlib.sha256(body).hexdigest()


def alertmanager(group_key: str, body: bytes, minute: int) -> str:
    """Same request: one Alertmanager notification's content within a minute (a retry, the HA peer's
    copy); a still-firing group repeated every repeat_interval is a new request."""
    content = hashlib.sha256(group_key.encode() + b"\n" + body).hexdigest()
    return f"am:{content}:{minute}"


def local() -> str:
    """Same request: nothing to match redeliveries by; a key of its own."""
    return f"local:{uuid.uuid4().hex}"
