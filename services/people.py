"""Who a user id is in one workspace: the name Slack shows (users.info's display name, else the real
name) and the time zone, kept in `people` for the pages, files and reports made without Slack, and
looked up again once REFRESH old.

Lookups come after the fact: once a request that named someone is answered, and in the background
pass over new timeline entries (who wrote, who was mentioned or paged). The paging path never waits
on users.info; until a lookup succeeds, the name Slack last put in a payload (else the bare ID) stands.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from runtime.clock import Clock
from runtime.slack_ops import SlackOpError, SlackOps
from runtime.slack_users import SlackUser, user_info
from runtime.tasks import BackgroundTasks
from storage.db import Database
from storage.people import PeopleRepo

log = logging.getLogger(__name__)

REFRESH = timedelta(days=1)
PER_PASS = 40  # users.info calls of one background pass at most (Slack allows 100+ a minute)
SCAN, SCANS = 2000, 10  # timeline entries a pass reads at a time, and how many times at most
WANTED = 500  # people a pass collects before it stops reading and looks them up
USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,31})[|>]")


def mentioned(text: str) -> set[str]:
    """The people Slack's text mentions (`<@U…>`, with or without a label)."""
    return set(_MENTION.findall(text))


def shown_name(user: SlackUser) -> str:
    """The name Slack shows for a member: the display name, else the real name, else the handle; one
    line of printable text."""
    for name in (user.display_name, user.real_name, user.handle):
        cleaned = " ".join("".join(c for c in name if unicodedata.category(c)[0] != "C").split())
        if cleaned:
            return cleaned
    return ""


class People:
    """One workspace's people: names seen in payloads, users.info lookups, the background pass."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        clock: Clock,
        tasks: BackgroundTasks,
        team_id: str,
        refresh: timedelta = REFRESH,
    ) -> None:
        self.db, self.slack, self.clock, self.tasks = db, slack, clock, tasks
        self.team_id, self.refresh = team_id, refresh
        self._stored: dict[str, str] = {}  # payload names this process stored
        self._asked: dict[str, datetime] = {}  # when this process last had Slack's answer about someone
        self._wanted: set[str] = set()  # named, for the next pass to look up
        self._busy: set[str] = set()  # being looked up now
        self._after = 0  # the last timeline entry a pass read

    async def seen(self, names: Mapping[str, str | None]) -> None:
        """Names Slack put in a payload: they stand until users.info names the person."""
        names = {u: n for u, n in names.items() if n and USER_ID.fullmatch(u) and self._stored.get(u) != n}
        if not names:
            return
        async with self.db.session() as s:
            repo = PeopleRepo(s, self.team_id)
            for user_id, name in names.items():
                await repo.remember(user_id, name)
        self._stored.update(names)

    def named(self, user_ids: Iterable[str]) -> None:
        """People a request named: looked up in the background when due (nobody waits for it)."""
        now = self.clock.now()
        ids = {u for u in user_ids if USER_ID.fullmatch(u) and not self._recent(u, now)} - self._busy
        if ids:
            self.tasks.spawn(self.look_up(ids), name="people")

    def _recent(self, user_id: str, now: datetime) -> bool:
        asked = self._asked.get(user_id)
        return asked is not None and now - asked < self.refresh

    async def look_up(self, user_ids: Iterable[str], limit: int | None = None) -> int:
        """users.info for those of `user_ids` no process looked up within REFRESH (`limit` at most);
        how many it named. Someone Slack does not know keeps their name (or ID) until REFRESH has
        passed; a failed call leaves them and the rest to the next pass."""
        now = self.clock.now()
        asked = {u for u in user_ids if USER_ID.fullmatch(u)} - self._busy
        asked = {u for u in asked if not self._recent(u, now)}
        if not asked:
            return 0
        async with self.db.session() as s:
            due = sorted(await PeopleRepo(s, self.team_id).due(asked, now - self.refresh))
        self._wanted -= asked - set(due)
        due = due[:limit] if limit is not None else due
        self._busy.update(due)
        named = 0
        try:
            for n, user_id in enumerate(due):
                try:
                    user = await user_info(self.slack, user_id)
                except SlackOpError as exc:
                    log.warning(
                        "users.info failed, %d people keep their names for now: %s", len(due) - n, exc
                    )
                    self._wanted.update(due[n:])
                    break
                self._asked[user_id] = now
                self._wanted.discard(user_id)
                name = shown_name(user) if user else ""
                if not user or not name:
                    continue
                async with self.db.session() as s:
                    await PeopleRepo(s, self.team_id).looked_up(user_id, name, user.real_name, user.tz, now)
                named += 1
        finally:
            self._busy.difference_update(due)
        return named

    async def sweep(self) -> int:
        """The background pass: the people on the workspace's timelines since the last pass (authors,
        mentions, people paged) and those a failed lookup left, looked up when due, PER_PASS at most."""
        for _ in range(SCANS):
            async with self.db.reading() as s:
                rows = await PeopleRepo(s, self.team_id).timeline_after(self._after, SCAN)
            for row in rows:
                self._wanted.update(mentioned(row.text))
                if row.author_id and USER_ID.fullmatch(row.author_id):
                    self._wanted.add(row.author_id)
            if rows:
                self._after = rows[-1].id
            if len(rows) < SCAN or len(self._wanted) >= WANTED:
                break
        return await self.look_up(sorted(self._wanted)[:WANTED], limit=PER_PASS)

    async def names(self, user_ids: Iterable[str | None]) -> dict[str, str]:
        """Names of these people, of those the workspace knows."""
        async with self.db.session() as s:
            return await PeopleRepo(s, self.team_id).names(u for u in user_ids if u)
