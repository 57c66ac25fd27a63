"""What the web view shows of one workspace: incidents (private ones only to their channel's
members), one incident whole, the reliability metrics, and each service's."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config.custom_fields import CustomField
from config.policy import Policy
from domain.catalog import Catalog
from domain.fields import Value
from messages.postmortem import Postmortem, markdown
from messages.relations import Related
from runtime.clock import Clock
from runtime.slack_ops import SlackOps
from services.exports import Export, export_data
from services.relations import MaySee, related_of
from services.stats import WORK_END, WORK_START, zones_of
from storage.db import Database
from storage.fields import FieldRepo
from storage.followups import FollowupRepo
from storage.models import Followup, Incident, IncidentUpdate, PageDelivery, TimelineEntry
from storage.people import PeopleRepo
from storage.repositories import IncidentRepo, TimelineRepo
from storage.schedule import DeliveryRepo
from storage.web_queries import Filters, WebQueries

MEMBERS_FRESH = 60.0  # seconds a person's list of private channels is trusted
DRAFT_ENTRIES = 100  # timeline rows of the draft rendered on the incident page
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)[|>]")  # a person in Slack's text, named with or without a label


@dataclass
class IncidentPage:
    """What the incident page shows: one part of the timeline, and the draft with a short timeline."""

    incident: Incident
    updates: list[IncidentUpdate]
    entries: list[TimelineEntry]  # this part of the timeline
    total_entries: int
    pages: list[PageDelivery]
    followups: list[Followup]
    names: dict[str, str]
    draft_md: str  # the draft, its timeline cut to DRAFT_ENTRIES rows (the download has them all)
    related: list[Related] = field(default_factory=list)
    duplicate_of: Related | None = None
    fields: list[tuple[CustomField, Value | None]] = field(default_factory=list)  # each configured one


@dataclass
class Load:
    """Pages per person over the window, and how many came outside working hours in their zone."""

    user: str
    pages: int = 0
    outside: int = 0


@dataclass
class Metrics:
    """The metrics page's figures."""

    since: datetime
    weekly: list[tuple[str, str, int]]
    tta: list[tuple[str, str, int, float, float]]
    ttr: list[tuple[str, str, int, float, float]]
    load: list[Load] = field(default_factory=list)


@dataclass
class ServiceFigures:
    """One service on the Services page: its open incidents, and its incidents over the window with
    their time to acknowledge and to resolve (p50, p90 in seconds; None when none was)."""

    name: str
    title: str  # its runbook's title; "" for a service only past incidents name
    open: list[Incident]
    declared: int
    mtta: tuple[float, float] | None
    mttr: tuple[float, float] | None


class Reports:
    """Reads for the web view; every query is scoped to the workspace."""

    def __init__(self, db: Database, slack: SlackOps, policy: Policy, clock: Clock, team_id: str) -> None:
        self.db, self.slack, self.policy, self.clock, self.team_id = db, slack, policy, clock, team_id
        self._channels: dict[str, tuple[float, set[str]]] = {}  # person → their private channels

    async def _member_of(self, channel: str | None, user: str) -> bool:
        """Whether `user` is in the private channel: one users.conversations per person a minute,
        however many private incidents there are."""
        if not channel:
            return False
        cached = self._channels.get(user)
        if cached is None or time.monotonic() - cached[0] > MEMBERS_FRESH:
            try:
                cached = (time.monotonic(), await self.slack.private_channels_of(user))
            except Exception:
                cached = (time.monotonic(), set())  # not knowing where they are shows them nothing private
            self._channels[user] = cached
        return channel in cached[1]

    async def private_visible(self, user: str) -> set[int]:
        """The private incidents `user` may see: those whose channel they are in."""
        async with self.db.session() as s:
            private = await WebQueries(s, self.team_id).private_ids()
        return {n for n, channel in private if await self._member_of(channel, user)}

    async def incidents(self, filters: Filters, user: str) -> tuple[list[Incident], int]:
        """One page of the list, as `user` may see it."""
        visible = await self.private_visible(user)
        async with self.db.session() as s:
            return await WebQueries(s, self.team_id).incidents(filters, visible)

    async def live(self, user: str) -> list[Incident]:
        """The open incidents `user` may see."""
        async with self.db.session() as s:
            found = await WebQueries(s, self.team_id).open_incidents()
        return [i for i in found if not i.private or await self._member_of(i.channel_id, user)]

    async def service_names(self, catalog: Catalog, user: str) -> list[str]:
        """The catalog's services, then those only incidents `user` may see name, by name."""
        visible = await self.private_visible(user)
        async with self.db.session() as s:
            seen = await WebQueries(s, self.team_id).services(visible)
        return [*catalog.names, *(n for n in seen if n not in catalog.names)]

    async def services(self, catalog: Catalog, days: int, user: str) -> list[ServiceFigures]:
        """Each service (the catalog's, then those only past incidents name) with its open incidents
        and its figures over `days`, of the incidents `user` may see."""
        since = self.clock.now() - timedelta(days=days)
        visible = await self.private_visible(user)
        async with self.db.session() as s:
            q = WebQueries(s, self.team_id)
            seen = await q.services(visible)
            open_ = await q.open_with_service(visible)
            counts = await q.service_counts(since, visible)
            tta = {n: (p50, p90) for n, _, p50, p90 in await q.service_percentiles(since, "tta", visible)}
            ttr = {n: (p50, p90) for n, _, p50, p90 in await q.service_percentiles(since, "ttr", visible)}
        titles = {service.name: service.title for service in catalog.services}
        names = [*titles, *(n for n in seen if n not in titles)]
        return [
            ServiceFigures(
                name,
                titles.get(name, ""),
                [i for i in open_ if i.service == name],
                counts.get(name, 0),
                tta.get(name),
                ttr.get(name),
            )
            for name in names
        ]

    async def _visible(self, s: AsyncSession, number: int, user: str) -> Incident | None:
        incident = await IncidentRepo(s, self.team_id).by_ref(str(number))
        if incident is None or (incident.private and not await self._member_of(incident.channel_id, user)):
            return None  # unknown, or private and `user` not in its channel
        return incident

    async def incident(self, number: int, user: str, part: int, per_part: int) -> IncidentPage | None:
        """One incident with part `part` (from 1) of its timeline, or None when `user` may not see it."""
        async with self.db.session() as s:
            incident = await self._visible(s, number, user)
            if incident is None:
                return None
            timeline = TimelineRepo(s)
            entries = await timeline.part_of(incident.id, per_part, (part - 1) * per_part)
            total = await timeline.count(incident.id)
            if part == 1 and per_part >= DRAFT_ENTRIES:  # the draft's rows are this part's first ones
                draft_entries = entries[:DRAFT_ENTRIES]
            else:
                draft_entries = await timeline.part_of(incident.id, DRAFT_ENTRIES, 0)
            updates = await IncidentRepo(s, self.team_id).updates(incident.id)
            pages = await DeliveryRepo(s).for_incident(incident.id)
            followups = await FollowupRepo(s, self.team_id).of_incident(incident.id)
            values = await FieldRepo(s).of(incident.id) if self.policy.fields else {}
            fields = [(spec, values.get(spec.name)) for spec in self.policy.fields]
            shown = _people_in(incident, [*entries, *draft_entries], pages, followups, updates)
            shown |= {str(v) for spec, v in fields if spec.type == "user" and v}
            names = await PeopleRepo(s, self.team_id).names(shown)
            related, original = await related_of(s, self.team_id, incident, self._may_see(user))
        pm = Postmortem(
            incident,
            draft_entries,
            names,
            followups=followups,
            related=related,
            duplicate_of=original,
            fields=fields,
        )
        draft = markdown(pm)
        if total > DRAFT_ENTRIES:
            draft += f"\n_The draft's timeline shows its first {DRAFT_ENTRIES} of {total} entries here._\n"
        return IncidentPage(
            incident, updates, entries, total, pages, followups, names, draft, related, original, fields
        )

    async def export(self, number: int, user: str) -> Export | None:
        """What a download is written from (`services.exports.pieces` reads its timeline); None when
        `user` may not see the incident."""
        async with self.db.session() as s:
            incident = await self._visible(s, number, user)
        if incident is None:
            return None
        return await export_data(self.db, self.team_id, incident, self._may_see(user), self.policy.fields)

    def _may_see(self, user: str) -> MaySee:
        """Whether `user` may see a private incident: whether they are in its channel."""
        return lambda incident: self._member_of(incident.channel_id, user)

    async def names(self, user_ids: Iterable[str | None]) -> dict[str, str]:
        """Display names of these people, those the bot has seen in this workspace."""
        async with self.db.session() as s:
            return await PeopleRepo(s, self.team_id).names(u for u in user_ids if u)

    async def metrics(self, days: int, user: str) -> Metrics:
        """Incidents per week, MTTA and MTTR per month and severity, on-call load, over `days`, of the
        incidents `user` may see (a private one only counts for its channel's members)."""
        since = self.clock.now() - timedelta(days=days)
        visible = await self.private_visible(user)
        async with self.db.session() as s:
            q = WebQueries(s, self.team_id)
            weekly = await q.weekly(since, visible)
            tta, ttr = await q.percentiles(since, "tta", visible), await q.percentiles(since, "ttr", visible)
            hours = await q.page_load(since, visible)
            known = await PeopleRepo(s, self.team_id).zones(user for user, _, _ in hours)
        zones = zones_of(self.policy, known)
        load: dict[str, Load] = {}
        monday = datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC"))  # a Monday, 00:00 UTC
        for user, hour_of_week, n in hours:
            local = (monday + timedelta(hours=hour_of_week)).astimezone(zones.get(user, ZoneInfo("UTC")))
            row = load.setdefault(user, Load(user))
            row.pages += n
            row.outside += n * int(local.weekday() >= 5 or not WORK_START <= local.time() < WORK_END)
        return Metrics(since, weekly, tta, ttr, sorted(load.values(), key=lambda r: (-r.pages, r.user)))


def _people_in(
    incident: Incident,
    entries: list[TimelineEntry],
    pages: list[PageDelivery],
    followups: list[Followup],
    updates: list[IncidentUpdate],
) -> set[str]:
    """Everyone the incident page (and its draft) names: roles, authors, people mentioned, paged, owners."""
    ids = {incident.commander_id, incident.scribe_id, incident.comms_id, incident.declared_by}
    ids.update(e.author_id for e in entries)
    ids.update(d.user_id for d in pages)
    ids.update(d.acknowledged_by for d in pages)
    ids.update(f.owner_id for f in followups)
    texts = [incident.title, incident.summary or "", *(e.text for e in entries), *(f.text for f in followups)]
    texts += [u.text for u in updates]
    for text in texts:
        ids.update(_MENTION.findall(text))
    return {i for i in ids if i}
