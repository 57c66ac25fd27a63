"""Who a Slack user id is (users.info): the names Slack shows for them and their time zone."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from runtime.slack_ops import SlackOps, op_error, slack_error


@dataclass(frozen=True)
class SlackUser:
    """A member as users.info describes them (Slack leaves a display name empty when none was set)."""

    id: str
    display_name: str
    real_name: str
    handle: str
    tz: str | None


async def user_info(slack: SlackOps, user_id: str) -> SlackUser | None:
    """A member's names and time zone; None when Slack knows nobody by that id (SlackOpError else)."""
    try:
        resp = await slack.client.users_info(user=user_id)
    except SlackApiError as exc:
        if slack_error(exc) in ("user_not_found", "user_not_visible"):
            return None
        raise op_error(f"looking up {user_id}", exc) from exc
    user = resp.get("user") or {}
    profile = user.get("profile") or {}
    return SlackUser(
        id=str(user.get("id") or user_id),
        display_name=str(profile.get("display_name") or "").strip(),
        real_name=str(profile.get("real_name") or user.get("real_name") or "").strip(),
        handle=str(user.get("name") or "").strip(),
        tz=str(user["tz"]) if user.get("tz") else None,
    )
