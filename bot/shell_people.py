"""The shell's people: `@carol` typed in a command or message becomes Slack's `<@U0CAROL>`, `people`
lists who is who (ID and escalation role), and a policy file's unknown users join the emulated team."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from config.policy import Policy
from config.policy_file import policy_from_dict
from slack_emulator import SlackEmulator, Workspace

# `@name` typed as a person would; not an e-mail address, nor the `<@U…>` Slack syntax itself. A dot
# belongs to the name only when more of the name follows ("@carol." ends a sentence).
AT_NAME = re.compile(r"(?<![\w<|@/:])@([A-Za-z0-9_](?:[\w-]|\.(?=[\w-]))*)")
SPECIAL = {"here", "channel", "everyone"}
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class UnknownPerson(ValueError):
    """`as`/`dms` naming nobody in the workspace: shown as a one-line hint."""


def person(ws: Workspace, name: str) -> str | None:
    """The user id of the emulated person called `name` (handle or display name, any case)."""
    wanted = name.lower()
    found = (u.id for u in ws.users.values() if not u.is_bot and wanted in (u.name.lower(), u.id.lower()))
    return next(found, None)


def mentions(ws: Workspace, text: str) -> tuple[str, list[str]]:
    """`text` with each `@name` of a person in `ws` as `<@ID>`; the names nobody answers to."""
    unknown: list[str] = []

    def one(match: re.Match[str]) -> str:
        name = match[1]
        if name.lower() in SPECIAL:
            return match[0]
        uid = person(ws, name)
        if uid is None:
            unknown.append(name)
            return match[0]
        return f"<@{uid}>"

    return AT_NAME.sub(one, text), unknown


def unknown_hint(names: list[str]) -> str:
    """What to say about `@name`s left as typed."""
    who = ", ".join(f"@{n}" for n in names)
    return f"(no one called {who} here, so it went as typed; `people` lists who is)"


def roles(policy: Policy) -> dict[str, list[str]]:
    """Each user id's part in the escalation: the levels naming them, and the rotations they are on."""
    found: dict[str, list[str]] = {}
    for level in policy.escalation.levels:
        label = f"{level.name} {level.title}".strip()
        for uid in level.users:
            found.setdefault(uid, []).append(label)
        schedule = policy.schedule(level.schedule) if level.schedule else None
        if schedule is not None:
            for uid in schedule.users:
                found.setdefault(uid, []).append(f"{label} (rotation {schedule.name})")
            for uid in schedule.fallback:
                found.setdefault(uid, []).append(f"fallback of rotation {schedule.name}")
    return found


def people_table(ws: Workspace, policy: Policy) -> list[str]:
    """`people`: every emulated person with their handle, user id, name and escalation role."""
    parts = roles(policy)
    users = [u for u in ws.users.values() if not u.is_bot]
    width = max((len(u.name) for u in users), default=0) + 1
    ids = max((len(u.id) for u in users), default=0)
    names = max((len(u.real_name) for u in users), default=0)
    lines = [f"People in {ws.team_id} (`as @name` acts as one, `@name` in a line mentions them):"]
    for u in users:
        role = "; ".join(parts.get(u.id, [])) or "not in the escalation"
        lines.append(f"  @{u.name:<{width}} {u.id:<{ids}}  {u.real_name:<{names}}  {role}")
    lines.append("`/incident oncall` shows who is on call now.")
    return lines


def policy_users(data: dict[str, Any]) -> list[str]:
    """Every user id a policy (as read from TOML) pages or rotates: `users` and `fallback` lists."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif key in ("users", "fallback") and isinstance(value, str) and USER_ID.match(value):
            if value not in found:
                found.append(value)

    walk(data)
    return found


def add_strangers(emu: SlackEmulator, data: dict[str, Any]) -> None:
    """Make the people and announce channels (`announce_channel`, each `[[announce]]` rule's) a policy
    file names exist in the emulated workspace, so its pages and announcements reach somewhere (a real
    workspace's IDs are unknown to the emulator)."""
    ws = emu.state
    for uid in policy_users(data):
        if uid not in ws.users:
            emu.add_user(uid.lower(), user_id=uid, real_name=f"Person {uid}")
    rules = data.get("announce") if isinstance(data.get("announce"), list) else []
    channels = [str(data.get("announce_channel", "#incidents"))]
    channels += [str(r["channel"]) for r in rules if isinstance(r, dict) and "channel" in r]
    for i, channel in enumerate(channels):
        if ws.channel(channel) is None:
            named = channel.startswith("#")
            name = channel.removeprefix("#") if named else "announce" if i == 0 else channel.lower()
            emu.add_channel(name, channel_id=None if named else channel, members=["U0BOT"])


class PeopleCommands:
    """`people`, `as` and `dms`, mixed into Shell: they use its emulator, workspace and output."""

    emu: SlackEmulator
    ws: Workspace
    policy: dict[str, Any]
    users: dict[str, str]
    user: str
    _write: Callable[[str], None]
    _paint: Callable[[str, str], str]
    _colourise: Callable[[str], str]

    async def _people(self, _arg: str) -> None:
        policy = policy_from_dict(self.policy).of(self.ws.team_id)
        self._write("\n".join(people_table(self.ws, policy)))

    async def _as(self, who: str) -> None:
        self.user = self._user(who)
        self._write(self._paint(f"(you are now @{self.ws.user_name(self.user)})", "dim"))

    async def _dms(self, who: str) -> None:
        user = self._user(who)
        dms = self.emu.dms(user)
        if not dms:
            self._write(f"(no DMs to @{self.ws.user_name(user)})")
        for msg in dms:
            lines = self.ws.render(msg.get("text", ""), msg.get("blocks")) or [msg.get("text", "")]
            self._write(self._colourise("\n".join(f"    {line}" for line in ["", *lines])[1:]))

    def _user(self, who: str) -> str:
        token = who.strip()
        match = re.fullmatch(r"<@(\w+)(\|[^>]*)?>", token)
        if match:
            token = match.group(1)
        token = token.lstrip("@")
        if token in self.ws.users:
            return token
        if token in self.users:
            return self.users[token]
        found = person(self.ws, token)
        if found is not None:
            return found
        raise UnknownPerson(
            f"no user {who!r}; try one of {', '.join('@' + u for u in self.users)} (`people`)"
        )
