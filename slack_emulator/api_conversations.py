"""conversations.* methods: channels, DMs, membership, topics, history and threads."""

from __future__ import annotations

import re
from typing import Any

from slack_emulator.apibase import (
    ApiError,
    Handler,
    Params,
    Result,
    channel_arg,
    paginate,
    require_member,
    require_open,
    valid_ts,
)
from slack_emulator.models import Channel, ts_key
from slack_emulator.state import Workspace

NAME_MAX = 80
TOPIC_MAX = 250
_NAME_OK = re.compile(r"^[a-z0-9_-]+$")
CONVERSATION_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})


def channel_dict(ws: Workspace, ch: Channel) -> dict[str, Any]:
    """Slack's conversation object, as the bot sees it."""
    if ch.is_im:
        return {
            "id": ch.id,
            "created": ch.created,
            "is_archived": False,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": ws.team_id,
            "updated": ch.created * 1000,
            "user": ch.user,
            "is_user_deleted": False,
            "priority": 0,
        }
    return {
        "id": ch.id,
        "name": ch.name,
        "is_channel": not ch.is_private,
        "is_group": ch.is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": ch.is_private,
        "created": ch.created,
        "is_archived": ch.is_archived,
        "is_general": False,
        "unlinked": 0,
        "name_normalized": ch.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "context_team_id": ws.team_id,
        "updated": ch.created * 1000,
        "parent_conversation": None,
        "creator": ch.creator,
        "is_ext_shared": False,
        "shared_team_ids": [ws.team_id],
        "pending_connected_team_ids": [],
        "is_member": ch.has_member(ws.bot_user_id),
        "topic": dict(ch.topic),
        "purpose": dict(ch.purpose),
        "previous_names": [],
        "num_members": len(ch.members),
    }


def _not_im(ch: Channel) -> Channel:
    if ch.is_im:
        raise ApiError("method_not_supported_for_channel_type")
    return ch


def create(ws: Workspace, params: Params) -> Result:
    """Create a channel with the bot as creator and member, validating the name as Slack does."""
    name = params.get("name") or ""
    if not name:
        raise ApiError("invalid_name_required")
    if len(name) > NAME_MAX:
        raise ApiError("invalid_name_maxlength")
    if not _NAME_OK.match(name):
        raise ApiError("invalid_name_specials")
    if not name.strip("-_"):
        raise ApiError("invalid_name_punctuation")
    if ws.channel_by_name(name) is not None:
        raise ApiError("name_taken")
    cid = ws.add_channel(
        name, members=[ws.bot_user_id], is_private=params.flag("is_private"), creator=ws.bot_user_id
    )
    ws.record("channel_created", cid, ws.bot_user_id, f"created #{name}")
    return {"channel": channel_dict(ws, ws.channels[cid])}


def invite(ws: Workspace, params: Params) -> Result:
    """Invite users; users already there are skipped, all of them there is already_in_channel."""
    ch = _not_im(channel_arg(ws, params))
    require_open(ch)
    require_member(ws, ch)
    users = params.items("users")
    if not users:
        raise ApiError("no_user")
    if len(users) > 1000:
        raise ApiError("too_many_users")
    if ws.bot_user_id in users:
        raise ApiError("cant_invite_self")
    if any(uid not in ws.users for uid in users):
        raise ApiError("user_not_found")
    new = [uid for uid in dict.fromkeys(users) if uid not in ch.members]
    if not new:
        raise ApiError(
            "already_in_channel",
            errors=[{"user": uid, "ok": False, "error": "already_in_channel"} for uid in users],
        )
    ch.members.extend(new)
    ws.record("invite", ch.id, ws.bot_user_id, "invited " + ", ".join(f"<@{uid}>" for uid in new))
    return {"channel": channel_dict(ws, ch)}


def join(ws: Workspace, params: Params) -> Result:
    """The bot joins a public channel (a private one takes an invitation)."""
    ch = _not_im(channel_arg(ws, params))
    if ch.is_private:
        raise ApiError("method_not_supported_for_channel_type")
    require_open(ch)
    if ch.has_member(ws.bot_user_id):
        return {
            "channel": channel_dict(ws, ch),
            "warning": "already_in_channel",
            "response_metadata": {"warnings": ["already_in_channel"]},
        }
    ch.members.append(ws.bot_user_id)
    return {"channel": channel_dict(ws, ch)}


def info(ws: Workspace, params: Params) -> Result:
    """One conversation's details."""
    return {"channel": channel_dict(ws, channel_arg(ws, params))}


def members(ws: Workspace, params: Params) -> Result:
    """Member ids, paginated."""
    ch = channel_arg(ws, params)
    page, cursor = paginate([ws.bot_user_id, ch.user] if ch.is_im else ch.members, params)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


def list_(ws: Workspace, params: Params) -> Result:
    """Conversations of the asked types the bot can see, paginated."""
    types = set(params.items("types") or ["public_channel"])
    if not types <= CONVERSATION_TYPES:
        raise ApiError("invalid_types")
    exclude_archived = params.flag("exclude_archived")

    def wanted(ch: Channel) -> bool:
        if exclude_archived and ch.is_archived:
            return False
        if ch.is_im:
            return "im" in types
        if ch.is_private:
            return "private_channel" in types and ch.has_member(ws.bot_user_id)
        return "public_channel" in types

    page, cursor = paginate([channel_dict(ws, c) for c in ws.channels.values() if wanted(c)], params)
    return {"channels": page, "response_metadata": {"next_cursor": cursor}}


def user_conversations(ws: Workspace, params: Params) -> Result:
    """users.conversations: the conversations a person is in that the bot can see, paginated."""
    user = params.get("user") or ws.bot_user_id
    if user not in ws.users:
        raise ApiError("user_not_found")
    types = set(params.items("types") or ["public_channel"])
    if not types <= CONVERSATION_TYPES:
        raise ApiError("invalid_types")
    exclude_archived = params.flag("exclude_archived")

    def wanted(ch: Channel) -> bool:
        if (exclude_archived and ch.is_archived) or ch.is_im or not ch.has_member(user):
            return False
        if ch.is_private:
            return "private_channel" in types and ch.has_member(ws.bot_user_id)
        return "public_channel" in types

    page, cursor = paginate([channel_dict(ws, c) for c in ws.channels.values() if wanted(c)], params)
    return {"channels": page, "response_metadata": {"next_cursor": cursor}}


def _set_text(ws: Workspace, params: Params, arg: str) -> Result:
    ch = _not_im(channel_arg(ws, params))
    require_open(ch)
    require_member(ws, ch)
    value = params.get(arg) or ""
    if len(value) > TOPIC_MAX:
        raise ApiError("too_long")
    setattr(ch, arg, {"value": value, "creator": ws.bot_user_id, "last_set": int(ws.now())})
    ws.record("topic", ch.id, ws.bot_user_id, f"set the channel {arg}: {value}")
    return {"channel": channel_dict(ws, ch)}


def set_topic(ws: Workspace, params: Params) -> Result:
    """Set the topic (250 characters at most)."""
    return _set_text(ws, params, "topic")


def set_purpose(ws: Workspace, params: Params) -> Result:
    """Set the purpose (250 characters at most)."""
    return _set_text(ws, params, "purpose")


def archive(ws: Workspace, params: Params) -> Result:
    """Archive a channel the bot is in."""
    ch = _not_im(channel_arg(ws, params))
    if ch.is_archived:
        raise ApiError("already_archived")
    require_member(ws, ch)
    ch.is_archived = True
    return {}


def unarchive(ws: Workspace, params: Params) -> Result:
    """Bring back an archived channel the bot was in."""
    ch = _not_im(channel_arg(ws, params))
    if not ch.is_archived:
        raise ApiError("not_archived")
    require_member(ws, ch)
    ch.is_archived = False
    return {}


def open_(ws: Workspace, params: Params) -> Result:
    """Open (or find) the bot's DM with one user; the id is stable per user."""
    if "channel" in params:
        ch = channel_arg(ws, params)
        if not ch.is_im:
            raise ApiError("method_not_supported_for_channel_type")
        return {"no_op": True, "already_open": True, "channel": channel_dict(ws, ch)}
    users = [u for u in params.items("users") if u != ws.bot_user_id]
    if not users:
        raise ApiError("users_list_not_supplied")
    if len(users) > 1:
        raise ApiError("not_supported", detail="the emulator has no multi-person DMs")
    if users[0] not in ws.users:
        raise ApiError("user_not_found")
    existed = any(c.is_im and c.user == users[0] for c in ws.channels.values())
    ch = ws.open_dm(users[0])
    body = channel_dict(ws, ch) if params.flag("return_im") else {"id": ch.id}
    return {"no_op": True, "already_open": True, "channel": body} if existed else {"channel": body}


def _readable(ws: Workspace, ch: Channel) -> Channel:
    if not ch.is_im:
        require_member(ws, ch)
    return ch


def history(ws: Workspace, params: Params) -> Result:
    """Top-level messages newest first, between oldest and latest (bounds excluded unless inclusive)."""
    ch = _readable(ws, channel_arg(ws, params))
    latest, oldest = params.get("latest"), params.get("oldest")
    hi = ts_key(valid_ts(latest, "invalid_ts_latest")) if latest else None
    lo = ts_key(valid_ts(oldest, "invalid_ts_oldest")) if oldest else 0
    inclusive = params.flag("inclusive")

    def within(ts: str) -> bool:
        key = ts_key(ts)
        above = key >= lo if inclusive else key > lo
        below = hi is None or (key <= hi if inclusive else key < hi)
        return above and below

    found = sorted((m for m in ch.messages if m.in_history and within(m.ts)), key=lambda m: ts_key(m.ts))
    page, cursor = paginate(found[::-1], params, max_limit=999)
    out: Result = {
        "messages": [ws.message_dict(m) for m in page],
        "has_more": bool(cursor),
        "pin_count": len(ch.pins),
        "channel_actions_updated": None,
        "channel_actions_count": 0,
    }
    if cursor:
        out["response_metadata"] = {"next_cursor": cursor}
    return out


def replies(ws: Workspace, params: Params) -> Result:
    """A thread: the parent first, then its replies oldest first."""
    ch = _readable(ws, channel_arg(ws, params))
    ts = params.required("ts", "thread_not_found")
    msg = ch.find(ts)
    if msg is not None and msg.is_reply:
        msg = ch.find(msg.thread_ts or "")
    if msg is None:
        raise ApiError("thread_not_found")
    page, cursor = paginate([msg, *ch.replies(msg.ts)], params, default_limit=1000)
    out: Result = {"messages": [ws.message_dict(m) for m in page], "has_more": bool(cursor)}
    if cursor:
        out["response_metadata"] = {"next_cursor": cursor}
    return out


METHODS: dict[str, Handler] = {
    "conversations.create": create,
    "conversations.invite": invite,
    "conversations.join": join,
    "conversations.info": info,
    "conversations.members": members,
    "conversations.list": list_,
    "users.conversations": user_conversations,
    "conversations.setTopic": set_topic,
    "conversations.setPurpose": set_purpose,
    "conversations.archive": archive,
    "conversations.unarchive": unarchive,
    "conversations.open": open_,
    "conversations.history": history,
    "conversations.replies": replies,
}
