"""Who is on call: each schedule's rotation or calendar, its overrides from the database, its fallback.

Calendars given by URL are fetched by their own job (`refresh`, every `[oncall] refresh`), bounded
by runtime.fetch, and their attendees looked up in Slack there; who is on call is read from the last
good copy in the database only, so paging never waits on a calendar server. Parsing and recurrence
expansion run in a thread: a large feed never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from config.oncall import Schedule
from config.policy import Policy
from domain.errors import IncidentError
from domain.oncall import (
    Override,
    Shift,
    calendar_addresses,
    calendar_shifts,
    on_call,
    rotation_shifts,
    with_fallback,
    with_overrides,
)
from domain.redact import redact_urls
from messages.oncall import OverrideRow
from runtime.clock import Clock
from runtime.fetch import FetchError, Limits, fetch
from runtime.journal import Steps
from runtime.slack_ops import SlackOpError, SlackOps
from storage.db import Database
from storage.oncall import CalendarRepo, EmailRepo, OverrideRepo

log = logging.getLogger(__name__)

# How far back a shift may have started and still be the one on call now.
LOOK_BACK = timedelta(days=60)
# One calendar fetch: 20 s in all, 5 MB at most (a year of a busy rotation is well under 1 MB).
CALENDAR_LIMITS = Limits(deadline=20, max_bytes=5_000_000)
# A copy not refreshed for this many `[oncall] refresh` periods is called stale on the timeline.
STALE_AFTER_PERIODS = 3


class OnCall:
    """The final schedule (rotation or calendar, overrides, fallback) and who is on call when."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        policy: Policy,
        clock: Clock,
        http: httpx.AsyncClient,
        team_id: str,
    ) -> None:
        self.db, self.slack, self.policy, self.clock, self.http = db, slack, policy, clock, http
        self.team_id = team_id

    def schedule(self, name: str) -> Schedule:
        """The schedule called `name`, or a refusal naming the ones there are."""
        schedule = self.policy.schedule(name)
        if schedule is None:
            known = ", ".join(s.name for s in self.policy.schedules) or "none are configured"
            raise IncidentError(f"No schedule called `{name}` ({known}).")
        return schedule

    async def shifts(
        self, name: str, start: datetime, end: datetime, *, fallback: bool = True
    ) -> list[Shift]:
        """The final shifts of a schedule overlapping [start, end); gaps given to the fallback unless
        `fallback` is False (to find them)."""
        schedule = self.schedule(name)
        base = await self._base(schedule, start, end)
        async with self.db.session() as s:
            rows = await OverrideRepo(s, self.team_id).between(name, start, end)
        overrides = [Override(o.user_id, o.start_at, o.end_at, o.id) for o in rows]
        final = with_overrides(base, overrides)
        if fallback:
            final = with_fallback(final, schedule.fallback, start, end)
        return [x for x in final if x.end > start and x.start < end]

    async def now(self, name: str, at: datetime | None = None) -> tuple[str, ...]:
        """Who is on call at `at` (now by default): the fallback in a gap."""
        at = at or self.clock.now()
        return on_call(await self.shifts(name, at - timedelta(seconds=1), at + timedelta(seconds=1)), at)

    async def add_override(
        self, steps: Steps, schedule: str, user: str, start: datetime, end: datetime, by: str
    ) -> OverrideRow:
        """Keep an override (once per request)."""

        async def record(s: AsyncSession) -> dict[str, Any]:
            row = await OverrideRepo(s, self.team_id).add(schedule, user, start, end, by, steps.at)
            return {"id": row.id}

        done = await steps.db("record", record)
        return OverrideRow(done["id"], schedule, user, start, end)

    async def cancel_override(self, steps: Steps, override_id: int, by: str) -> OverrideRow:
        """Cancel an override that is not over yet."""

        async def record(s: AsyncSession) -> dict[str, Any]:
            row = await OverrideRepo(s, self.team_id).get(override_id)
            if row is None or row.schedule not in {x.name for x in self.policy.schedules}:
                raise IncidentError(f"There is no override #{override_id}.")
            if row.cancelled_at is not None:
                raise IncidentError(f"Override #{override_id} was already cancelled.")
            if row.end_at <= steps.at:
                raise IncidentError(f"Override #{override_id} is already over.")
            row.cancelled_at, row.cancelled_by = steps.at, by
            return {"schedule": row.schedule, "user": row.user_id, "start": row.start_at.isoformat(),
                    "end": row.end_at.isoformat()}  # fmt: skip

        d = await steps.db("record", record)
        start, end = datetime.fromisoformat(d["start"]), datetime.fromisoformat(d["end"])
        return OverrideRow(override_id, d["schedule"], d["user"], start, end)

    async def overrides(self, name: str | None, start: datetime, end: datetime) -> list[OverrideRow]:
        """Live overrides (of one schedule, or all) that are not over by `start`."""
        async with self.db.session() as s:
            rows = await OverrideRepo(s, self.team_id).between(name, start, end)
        known = {x.name for x in self.policy.schedules}
        return [
            OverrideRow(o.id, o.schedule, o.user_id, o.start_at, o.end_at)
            for o in rows
            if o.schedule in known
        ]

    async def during(self, start: datetime, end: datetime) -> dict[str, list[str]]:
        """Everyone on call for each schedule at some point between `start` and `end`."""
        out: dict[str, list[str]] = {}
        for schedule in self.policy.schedules:
            shifts = await self.shifts(schedule.name, start, max(end, start + timedelta(seconds=1)))
            out[schedule.name] = list(dict.fromkeys(u for s in shifts for u in s.users))
        return out

    async def _base(self, schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
        rotation = schedule.rotation()
        if rotation is not None:
            return rotation_shifts(rotation, start, end)
        body = await self._calendar(schedule)
        if body is None:
            return []
        emails = await self._emails(body)
        return await asyncio.to_thread(calendar_shifts, body, schedule.tz, start, end, emails)

    async def _calendar(self, schedule: Schedule) -> str | None:
        """The calendar's text: the file, or the last good copy in the database (never the network)."""
        if schedule.ical_file:
            return await asyncio.to_thread(Path(schedule.ical_file).read_text)
        async with self.db.session() as s:
            copy = await CalendarRepo(s, self.team_id).get(schedule.name)
        return copy.body if copy else None

    async def copy_note(self, name: str) -> str | None:
        """For a schedule read from a calendar URL whose copy is missing or stale, what the timeline
        says about it; None when the copy is fresh (or there is no URL)."""
        schedule = self.policy.schedule(name)
        if schedule is None or not schedule.ical_url:
            return None
        async with self.db.session() as s:
            copy = await CalendarRepo(s, self.team_id).get(name)
        if copy is None or copy.body is None or copy.fetched_at is None:
            why = f" ({copy.last_error})" if copy and copy.last_error else ""
            return f"no copy of its calendar yet{why}"
        fetched = f"from the calendar copy fetched {copy.fetched_at:%d %b %H:%M} UTC"
        if copy.last_error_at is not None and copy.last_error_at > copy.fetched_at:
            return f"{fetched} (stale: fetching it again failed: {copy.last_error})"
        age = self.clock.now() - copy.fetched_at
        if age > self.policy.oncall.refresh * STALE_AFTER_PERIODS:
            return f"{fetched} (stale: not refreshed for {int(age.total_seconds() // 60)} min)"
        return None

    async def refresh(self) -> int:
        """Fetch every calendar given by URL whose copy is older than `[oncall] refresh`, all at once
        (each bounded by CALENDAR_LIMITS); returns how many were kept."""
        due: list[Schedule] = []
        for schedule in self.policy.schedules:
            if not schedule.ical_url:
                continue
            async with self.db.session() as s:
                copy = await CalendarRepo(s, self.team_id).get(schedule.name)
            last = (
                max((t for t in (copy.fetched_at, copy.last_error_at) if t), default=None) if copy else None
            )
            if last is None or self.clock.now() - last >= self.policy.oncall.refresh:
                due.append(schedule)
        results = await asyncio.gather(*(self.refresh_one(s) for s in due), return_exceptions=True)
        for schedule, result in zip(due, results, strict=True):
            if isinstance(result, Exception):
                log.error("calendar refresh of schedule %s failed: %r", schedule.name, result)
        return sum(r for r in results if isinstance(r, int))

    async def refresh_one(self, schedule: Schedule) -> int:
        """Fetch one calendar; keep it when it parses, keep the last good copy when not. No database
        session is open while the fetch runs."""
        assert schedule.ical_url
        now = self.clock.now()
        try:
            raw = await fetch(self.http, schedule.ical_url, CALENDAR_LIMITS)
            body = raw.decode("utf-8", errors="replace")
            await asyncio.to_thread(calendar_addresses, body)  # parses, or raises
        except Exception as exc:  # any failure keeps the last good copy
            error = str(exc) if isinstance(exc, FetchError) else f"{type(exc).__name__}: {exc}"
            error = redact_urls(error)
            log.warning("could not fetch the calendar of schedule %s: %s", schedule.name, error)
            async with self.db.session() as s:
                await CalendarRepo(s, self.team_id).failed(schedule.name, error, now)
            return 0
        await self._look_up(body)  # first: a page never sees a new attendee not looked up yet
        async with self.db.session() as s:
            await CalendarRepo(s, self.team_id).save(schedule.name, body, now)
        return 1

    async def _emails(self, body: str) -> dict[str, str]:
        """Attendee e-mails → Slack users, as looked up when the calendar was fetched."""
        addresses = await asyncio.to_thread(calendar_addresses, body)
        async with self.db.session() as s:
            known = await EmailRepo(s, self.team_id).known(addresses)
        return {address: user for address, user in known.items() if user}

    async def _look_up(self, body: str) -> None:
        """Look up each attendee e-mail not yet known, once, and keep the answer (the calendar job)."""
        addresses = await asyncio.to_thread(calendar_addresses, body)
        async with self.db.session() as s:
            known = await EmailRepo(s, self.team_id).known(addresses)
        for address in sorted(addresses - known.keys()):
            try:
                user = await self.slack.user_by_email(address)
            except SlackOpError as exc:
                log.warning("could not look up %s: %s", address, exc.error)
                continue
            async with self.db.session() as s:
                await EmailRepo(s, self.team_id).remember(address, user, self.clock.now())
