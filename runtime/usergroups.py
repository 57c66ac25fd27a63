"""Slack user groups as the incident domain reads them: members, and handle ↔ id (one cached list)."""

from __future__ import annotations

import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from runtime.slack_errors import SlackOpError, op_error, slack_error

GROUPS_TTL, GROUPS_MISS_TTL = 600.0, 30.0


class UserGroups:
    """The user-group calls of SlackOps (usergroups.list read again at most every 30 s on a miss and
    every 10 min on a hit)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._groups: dict[str, str] = {}  # handle → S… id, from the last usergroups.list
        self._handles: dict[str, str] = {}  # S… id → handle, from the same list
        self._groups_read_at: float | None = None

    async def usergroup_members(self, usergroup: str) -> list[str]:
        """The user IDs in a user group (usergroups.users.list)."""
        found = await self.known_usergroup_members(usergroup)
        if found is None:
            raise SlackOpError(f"reading user group {usergroup}", "no_such_subteam")
        return found

    async def known_usergroup_members(self, usergroup: str) -> list[str] | None:
        """The user IDs in a user group; None when Slack has no group with this id."""
        try:
            resp = await self.client.usergroups_users_list(usergroup=usergroup)
        except SlackApiError as exc:
            if slack_error(exc) == "no_such_subteam":
                return None
            raise op_error(f"reading user group {usergroup}", exc) from exc
        return [str(u) for u in resp.get("users", [])]

    async def usergroup_id(self, handle: str) -> str | None:
        """The id of the user group `@handle`; None when the workspace has none by that handle."""
        wanted = handle.strip().lstrip("@").lower()
        await self._read_groups(wanted in self._groups)
        return self._groups.get(wanted)

    async def usergroup_handle(self, usergroup: str) -> str | None:
        """The handle (without `@`) of the user group with this id; None when usergroups.list has none."""
        await self._read_groups(usergroup in self._handles)
        return self._handles.get(usergroup)

    async def set_usergroup_members(self, usergroup: str, users: list[str]) -> None:
        """Make a user group's members exactly these people (usergroups.users.update)."""
        try:
            await self.client.usergroups_users_update(usergroup=usergroup, users=",".join(users))
        except SlackApiError as exc:
            raise op_error(f"updating user group {usergroup}", exc) from exc

    async def _read_groups(self, hit: bool) -> None:
        """Read usergroups.list again when the cached one is too old for a hit (or a miss)."""
        age = None if self._groups_read_at is None else time.monotonic() - self._groups_read_at
        if age is not None and age <= GROUPS_TTL and (hit or age <= GROUPS_MISS_TTL):
            return
        try:
            resp = await self.client.usergroups_list()
        except SlackApiError as exc:
            raise op_error("listing the user groups", exc) from exc
        groups = [g for g in resp.get("usergroups") or [] if g.get("id")]
        self._groups = {str(g.get("handle", "")).lower(): str(g["id"]) for g in groups}
        self._handles = {str(g["id"]): str(g["handle"]) for g in groups if g.get("handle")}
        self._groups_read_at = time.monotonic()
