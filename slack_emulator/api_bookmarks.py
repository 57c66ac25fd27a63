"""bookmarks.* methods: links in a channel's header, as the bot adds them."""

from __future__ import annotations

from slack_emulator.apibase import ApiError, Handler, Params, Result, channel_arg, require_member
from slack_emulator.state import Workspace

MAX_BOOKMARKS = 100  # Slack: "Conversations are limited to 100 bookmarks."


def bookmarks_add(ws: Workspace, params: Params) -> Result:
    """Add a link bookmark (the only type Slack takes) to a channel the bot is in."""
    ch = channel_arg(ws, params, "channel_id")
    require_member(ws, ch)
    title = params.get("title") or ""
    if not title:
        raise ApiError("invalid_title")
    if params.get("type") != "link":
        raise ApiError("invalid_bookmark_type")
    link = params.get("link") or ""
    if not link.startswith(("http://", "https://")):
        raise ApiError("invalid_link")
    marks = ch.bookmarks
    if len(marks) >= MAX_BOOKMARKS:
        raise ApiError("too_many_bookmarks")
    bookmark = {
        "id": f"Bk{len(marks) + 1:010d}",
        "channel_id": ch.id,
        "title": title,
        "link": link,
        "emoji": params.get("emoji") or None,
        "type": "link",
        "date_created": int(ws.now()),
        "last_updated_by_user_id": ws.bot_user_id,
    }
    marks.append(bookmark)
    return {"bookmark": bookmark}


def bookmarks_list(ws: Workspace, params: Params) -> Result:
    """A channel's bookmarks."""
    ch = channel_arg(ws, params, "channel_id")
    return {"bookmarks": list(ch.bookmarks)}


METHODS: dict[str, Handler] = {"bookmarks.add": bookmarks_add, "bookmarks.list": bookmarks_list}
