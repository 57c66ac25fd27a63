"""The Web API: every emulated method by name, and dispatch of one call to its implementation."""

from __future__ import annotations

from typing import Any

from slack_emulator import api_bookmarks, api_conversations, api_messages, api_views_files
from slack_emulator.apibase import ApiError, Handler, Params, Result
from slack_emulator.models import BOT_NAME
from slack_emulator.state import Workspace


def auth_test(ws: Workspace, params: Params) -> Result:
    """Who the token belongs to: the bot user of the token's workspace."""
    out: Result = {
        "url": ws.url,
        "team": ws.team_name,
        "user": BOT_NAME,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }
    if ws.enterprise_id:
        out["enterprise_id"] = ws.enterprise_id
    return out


def users_info(ws: Workspace, params: Params) -> Result:
    """One user's profile."""
    user = ws.users.get(params.get("user") or "")
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user.to_slack()}


def users_lookup_by_email(ws: Workspace, params: Params) -> Result:
    """The member with this e-mail address."""
    email = (params.get("email") or "").strip().lower()
    for user in ws.users.values():
        if (user.to_slack()["profile"].get("email") or "").lower() == email:
            return {"user": user.to_slack()}
    raise ApiError("users_not_found")


def usergroup_users_update(ws: Workspace, params: Params) -> Result:
    """Replace a user group's members."""
    group = ws.usergroups.get(params.get("usergroup") or "")
    if group is None:
        raise ApiError("no_such_subteam")
    users = [u for u in (params.get("users") or "").split(",") if u]
    if not users:
        raise ApiError("invalid_users")
    group.users[:] = users
    return {"usergroup": {"id": group.id, "handle": group.handle, "users": list(group.users)}}


def usergroup_users(ws: Workspace, params: Params) -> Result:
    """The members of a user group."""
    group = ws.usergroups.get(params.get("usergroup") or "")
    if group is None:
        raise ApiError("no_such_subteam")
    return {"users": list(group.users)}


def usergroups_list(ws: Workspace, params: Params) -> Result:
    """The workspace's user groups (their members with `include_users`)."""
    users = str(params.get("include_users") or "").lower() in ("1", "true")
    out = []
    for group in ws.usergroups.values():
        item: Result = {"id": group.id, "team_id": ws.team_id, "handle": group.handle, "name": group.handle}
        if users:
            item["users"] = list(group.users)
        out.append(item)
    return {"usergroups": out}


def methods() -> dict[str, Handler]:
    """Every emulated Web API method."""
    return {
        "auth.test": auth_test,
        "users.info": users_info,
        "users.lookupByEmail": users_lookup_by_email,
        "usergroups.list": usergroups_list,
        "usergroups.users.list": usergroup_users,
        "usergroups.users.update": usergroup_users_update,
        **api_conversations.METHODS,
        **api_messages.METHODS,
        **api_views_files.METHODS,
        **api_bookmarks.METHODS,
    }


def call(ws: Workspace, method: str, params: dict[str, Any], registry: dict[str, Handler]) -> Result:
    """Run one method; Slack's error answers come back as {"ok": false, ...} bodies, never as exceptions."""
    handler = registry.get(method)
    if handler is None:
        return {"ok": False, "error": "unknown_method"}
    try:
        return {"ok": True, **handler(ws, Params(params))}
    except ApiError as exc:
        return exc.body()
