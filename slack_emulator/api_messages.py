"""chat.*, pins.* and reactions.* methods."""

from __future__ import annotations

import re
from typing import Any

from slack_emulator.apibase import (
    ApiError,
    Handler,
    Params,
    Result,
    blocks_arg,
    channel_arg,
    message_arg,
    require_member,
    require_open,
    valid_ts,
    visible,
)
from slack_emulator.models import Channel, Message
from slack_emulator.state import Workspace

TEXT_MAX = 40_000
EMOJI_NAME = re.compile(r"^[a-z0-9_+'-]+(::skin-tone-[2-6])?$")


def post_target(ws: Workspace, params: Params) -> Channel:
    """Where a post goes: a conversation id, '#name'/'name', or a user id (the bot's DM with them)."""
    ref = params.required("channel", "channel_not_found")
    if ref[:1] in ("U", "W") and ref in ws.users:
        return ws.open_dm(ref)
    return visible(ws, ws.channels.get(ref) or ws.channel_by_name(ref.removeprefix("#")))


def _content(params: Params) -> tuple[str, list[dict[str, Any]] | None]:
    text = params.get("text") or ""
    blocks = blocks_arg(params)
    if not text and not blocks and "attachments" not in params:
        raise ApiError("no_text")
    if len(text) > TEXT_MAX:
        raise ApiError("msg_too_long")
    return text, blocks


def post_message(ws: Workspace, params: Params) -> Result:
    """Post as the bot; replies to a reply land in the parent's thread, as in Slack."""
    ch = post_target(ws, params)
    require_open(ch)
    require_member(ws, ch)
    text, blocks = _content(params)
    thread_ts = params.get("thread_ts")
    if thread_ts:
        parent = ch.find(valid_ts(thread_ts, "invalid_thread_ts"))
        if parent is None:
            raise ApiError("thread_not_found")
        thread_ts = parent.thread_ts if parent.is_reply else parent.ts
    msg = ws.add_message(
        ch, ws.bot_user_id, text, blocks, thread_ts=thread_ts, reply_broadcast=params.flag("reply_broadcast")
    )
    return {"channel": ch.id, "ts": msg.ts, "message": ws.message_dict(msg)}


def post_ephemeral(ws: Workspace, params: Params) -> Result:
    """A message only `user` sees; it never enters the channel's history."""
    ch = post_target(ws, params)
    require_open(ch)
    user = params.required("user", "user_not_found")
    if user not in ws.users:
        raise ApiError("user_not_found")
    require_member(ws, ch)
    if not ch.has_member(user):
        raise ApiError("user_not_in_channel")
    text, blocks = _content(params)
    eph = ws.add_ephemeral(user, ch.id, text, blocks, "chat.postEphemeral")
    return {"message_ts": eph.ts}


def update(ws: Workspace, params: Params) -> Result:
    """Edit one of the bot's messages; omitted text or blocks are kept."""
    ch = channel_arg(ws, params)
    msg = message_arg(ch, params.get("ts"))
    if msg.user != ws.bot_user_id:
        raise ApiError("cant_update_message")
    if "text" not in params and "blocks" not in params and "attachments" not in params:
        raise ApiError("no_text")
    blocks = blocks_arg(params)
    text = params.get("text")
    if text is not None and len(text) > TEXT_MAX:
        raise ApiError("msg_too_long")
    if text is not None:
        msg.text = text
    if blocks is not None:
        msg.blocks = blocks
    msg.edited = {"user": ws.bot_user_id, "ts": ws.next_ts()}
    ws.record("update", ch.id, ws.bot_user_id, msg.text, msg.blocks, msg.ts)
    return {"channel": ch.id, "ts": msg.ts, "text": msg.text, "message": ws.message_dict(msg)}


def get_permalink(ws: Workspace, params: Params) -> Result:
    """A message's permalink (thread replies carry thread_ts and cid, as in Slack)."""
    ch = channel_arg(ws, params)
    msg = message_arg(ch, params.get("message_ts"))
    url = f"{ws.url}archives/{ch.id}/p{msg.ts.replace('.', '')}"
    if msg.is_reply:
        url += f"?thread_ts={msg.thread_ts}&cid={ch.id}"
    return {"channel": ch.id, "permalink": url}


def _item(ws: Workspace, params: Params) -> tuple[Channel, str]:
    ch = channel_arg(ws, params)
    ts = params.get("timestamp")
    if not ts:
        raise ApiError("no_item_specified")
    if not ch.is_im:
        require_member(ws, ch)
    return ch, ts


def pins_add(ws: Workspace, params: Params) -> Result:
    """Pin a message."""
    ch, ts = _item(ws, params)
    msg = message_arg(ch, ts)
    if ts in ch.pins:
        raise ApiError("already_pinned")
    ch.pins[ts] = {"created": int(ws.now()), "created_by": ws.bot_user_id}
    ws.record("pin", ch.id, ws.bot_user_id, msg.text, msg.blocks, ts)
    return {}


def pins_remove(ws: Workspace, params: Params) -> Result:
    """Unpin a message."""
    ch, ts = _item(ws, params)
    message_arg(ch, ts)
    if ch.pins.pop(ts, None) is None:
        raise ApiError("not_pinned")
    return {}


def pins_list(ws: Workspace, params: Params) -> Result:
    """Pinned messages, most recently pinned first."""
    ch = channel_arg(ws, params)
    items = []
    for ts, pin in reversed(ch.pins.items()):
        msg = ch.find(ts)
        if msg is not None:
            items.append({"type": "message", "channel": ch.id, **pin, "message": ws.message_dict(msg)})
    return {"items": items}


def _reaction(ws: Workspace, params: Params) -> tuple[Channel, Message, str]:
    ch, ts = _item(ws, params)
    name = params.get("name") or ""
    if not EMOJI_NAME.match(name):
        raise ApiError("invalid_name")
    return ch, message_arg(ch, ts), name


def reactions_add(ws: Workspace, params: Params) -> Result:
    """React as the bot."""
    ch, msg, name = _reaction(ws, params)
    users = msg.reactions.setdefault(name, [])
    if ws.bot_user_id in users:
        raise ApiError("already_reacted")
    users.append(ws.bot_user_id)
    ws.record("reaction", ch.id, ws.bot_user_id, f":{name}:", None, msg.ts)
    return {}


def reactions_remove(ws: Workspace, params: Params) -> Result:
    """Take the bot's reaction back."""
    ch, msg, name = _reaction(ws, params)
    users = msg.reactions.get(name, [])
    if ws.bot_user_id not in users:
        raise ApiError("no_reaction")
    users.remove(ws.bot_user_id)
    if not users:
        del msg.reactions[name]
    ws.record("unreaction", ch.id, ws.bot_user_id, f":{name}:", None, msg.ts)
    return {}


METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "chat.getPermalink": get_permalink,
    "pins.add": pins_add,
    "pins.remove": pins_remove,
    "pins.list": pins_list,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
}
