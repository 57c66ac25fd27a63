"""The timeline's and the roles' inbox ops: each request, built as its listener builds it, is kept and
read back unchanged, under the keys and in the JSON the string-keyed ops stored, so rows kept before
the upgrade still run."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest

from domain.workspace import Team
from handlers import roles, timeline
from handlers.subcommands import Invocation, Subcommands
from handlers.wiring import Wiring
from runtime.ops import Ops, Request
from tests.handlers.kept import Kept

TEAM = Team("T0ONE")
BOT = "U0BOT"
CHANNEL = "C0INC"
BODY = {"event_id": "Ev01"}


def _ops() -> Ops:
    wiring = Wiring(Ops(), Subcommands(), MagicMock())
    timeline.register(MagicMock(), wiring)
    roles.register(MagicMock(), wiring)
    return wiring.ops


async def _command(handler: Any, sub: str, args: str) -> Request:
    """The request `/incident <sub> <args>` keeps, as /incident hands it to `handler`."""
    kept = Kept()
    asked = dict(user="U0ALICE", channel=CHANNEL, trigger_id="trig-1", response_url="https://hooks/r")
    inv = Invocation(
        sub, args, **asked, user_name="alice", ack=AsyncMock(), respond=AsyncMock(), intake=kept, tasks=None
    )  # type: ignore[arg-type]
    await handler(inv)
    [request] = kept.requests
    return request


ASKED = {"user": "U0ALICE", "user_name": "alice", "channel": CHANNEL, "response_url": "https://hooks/r"}


async def _cases() -> list[tuple[Request, dict[str, Any], str | None]]:
    """(request as built, the payload the old code stored for the same input, its idempotency key)."""
    msg = {
        "type": "message",
        "channel": CHANNEL,
        "user": "U0ALICE",
        "ts": "1.1",
        "text": "hi",
        "thread_ts": "1.0",
    }
    edit = {
        "subtype": "message_changed",
        "channel": CHANNEL,
        "message": {"user": "U0ALICE", "ts": "1.1", "text": "hey"},
    }
    delete = {"subtype": "message_deleted", "channel": CHANNEL, "deleted_ts": "1.1"}
    reaction = {
        "user": "U0BOB",
        "reaction": "pushpin",
        "item": {"type": "message", "channel": CHANNEL, "ts": "1.1"},
    }
    event_keys = {"event_id": "Ev01", "channel": CHANNEL, "ts": "1.1"}
    reacted = {**event_keys, "user": "U0BOB", "emoji": "pushpin"}
    emoji = {"pushpin"}
    posted = {
        "event_id": "Ev01",
        "message": {
            "channel_id": CHANNEL,
            "ts": "1.1",
            "user_id": "U0ALICE",
            "text": "hi",
            "thread_ts": "1.0",
        },
    }
    return [
        (timeline.message_request(BODY, msg, BOT), posted, "ev:Ev01"),
        (timeline.message_request(BODY, edit, BOT), {**event_keys, "text": "hey"}, "ev:Ev01"),
        (timeline.message_request(BODY, delete, BOT), event_keys, "ev:Ev01"),
        (timeline.reaction_request(timeline.ReactionAdded, BODY, reaction, BOT, emoji), reacted, "ev:Ev01"),
        (
            timeline.reaction_request(timeline.ReactionRemoved, {}, reaction, BOT, emoji),
            {**reacted, "event_id": None},
            None,
        ),
        (
            await _command(timeline.note, "note", "rolled back"),
            {**ASKED, "command": "note rolled back", "text": "rolled back"},
            "cmd:trig-1",
        ),
        (
            await _command(timeline.postmortem, "postmortem", ""),
            {**ASKED, "command": "postmortem"},
            "cmd:trig-1",
        ),
        (
            await _command(timeline.postmortem, "postmortem", "done <https://wiki/pm>"),
            {**ASKED, "command": "postmortem done <https://wiki/pm>", "url": "https://wiki/pm"},
            "cmd:trig-1",
        ),
        (
            await _command(roles.scribe, "scribe", "<@U0BOB|bob>"),
            {
                **ASKED,
                "command": "scribe <@U0BOB|bob>",
                "role": "scribe",
                "assignee": "U0BOB",
                "assignee_name": "bob",
            },
            "cmd:trig-1",
        ),
    ]


async def test_every_request_round_trips_and_old_rows_still_decode() -> None:
    ops = _ops()
    share = await _command(
        lambda inv: timeline.show_timeline(inv, MagicMock(), MagicMock()), "timeline", "share"
    )
    cases = [*await _cases(), (share, {**ASKED, "command": "timeline share"}, "cmd:trig-1")]
    assert {r.OP for r, _, _ in cases} == ops.names(), "a case for every op"
    for request, old, idem in cases:
        item = ops.item(request, TEAM)
        assert ops.decode(item.op, item.payload) == request
        assert item.order_key == f"ch:{CHANNEL}"
        assert item.idem_key == idem if idem else item.idem_key.startswith("local:")
        stored = json.loads(item.payload)
        assert stored == {**stored, **old}, f"{request.OP}: the old payload's keys and values"
        was = ops.decode(request.OP, json.dumps(old))
        # The old rows kept no trigger_id (the idempotency key had it).
        assert was == request.model_copy(update={"trigger_id": None} if "trigger_id" in stored else {})


@pytest.mark.parametrize(
    "event",
    [
        {"channel": CHANNEL, "user": BOT, "ts": "1.1", "text": "from the bot"},
        {"channel": CHANNEL, "bot_id": "B1", "user": "U0ALICE", "ts": "1.1"},
        {"channel": CHANNEL, "subtype": "channel_join", "user": "U0ALICE", "ts": "1.1"},
        {"channel": CHANNEL, "subtype": "message_changed", "message": {"user": BOT, "ts": "1.1"}},
        {"channel": CHANNEL, "subtype": "message_deleted"},
        {"user": "U0ALICE", "ts": "1.1"},
    ],
    ids=["bot user", "bot id", "join", "bot edit", "no ts", "no channel"],
)
def test_messages_that_are_nobodys_transcript_are_not_kept(event: dict[str, Any]) -> None:
    assert timeline.message_request(BODY, event, BOT) is None


@pytest.mark.parametrize(
    ("user", "reaction", "kind"),
    [("U0BOB", "thumbsup", "message"), (BOT, "pushpin", "message"), ("U0BOB", "pushpin", "file")],
    ids=["other emoji", "the bot's", "not a message"],
)
def test_only_a_persons_timeline_emoji_on_a_message_is_kept(user: str, reaction: str, kind: str) -> None:
    event = {"user": user, "reaction": reaction, "item": {"type": kind, "channel": CHANNEL, "ts": "1.1"}}
    assert timeline.reaction_request(timeline.ReactionAdded, BODY, event, BOT, {"pushpin"}) is None
