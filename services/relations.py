"""Related incidents (`/incident link`) and duplicates (`/incident duplicate`): recorded on both
timelines and posted in both channels; a duplicate is resolved through the lifecycle's own resolve."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import IncidentError
from messages import relations as templates
from messages.blocks import Message
from messages.relations import Related
from runtime import logs
from runtime.journal import Outcome, Steps
from runtime.slack_ops import SlackOps
from services.lifecycle import Lifecycle
from storage.db import Database
from storage.models import Incident
from storage.relations import RelationRepo
from storage.repositories import IncidentRepo, TimelineRepo


class Relations:
    """Links one workspace's incidents to each other, and marks one a duplicate of another."""

    def __init__(self, db: Database, slack: SlackOps, lifecycle: Lifecycle, team_id: str) -> None:
        self.db, self.slack, self.lifecycle, self.team_id = db, slack, lifecycle, team_id

    async def _pair(
        self, s: AsyncSession, channel_id: str, ref: str, action: str
    ) -> tuple[Incident, Incident]:
        """The channel's incident (locked for the change) and the one `ref` names; a refusal when
        there is none, or they are the same."""
        repo = IncidentRepo(s, self.team_id)
        here = await repo.by_channel(channel_id, for_update=True)
        if here is None:
            raise IncidentError(f"`/incident {action}` only works in an incident channel.")
        logs.bind(incident_id=here.id)
        other = await repo.by_ref(ref)
        if other is None:
            raise IncidentError(f"There is no incident {ref}.")
        if other.id == here.id:
            raise IncidentError(f"That is {here.ref} itself: name another incident.")
        return here, other

    async def _load(self, incident_id: int) -> Incident:
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(incident_id)
        assert incident is not None, f"incident {incident_id} vanished"
        return incident

    async def _post(self, out: Outcome, name: str, incident: Incident, message: Message) -> None:
        """Post in an incident's channel, unless it has none or was archived."""
        channel = incident.channel_id
        if channel and incident.archived_at is None:
            await out.step(name, lambda: self.slack.post(channel, message))

    async def link(self, steps: Steps, channel_id: str, by: str, ref: str) -> Outcome:
        """Relate the channel's incident and `ref`'s, both ways: on both timelines, in both channels.
        Linking them again is refused, saying they are."""

        async def record(s: AsyncSession) -> list[int]:
            here, other = await self._pair(s, channel_id, ref, "link")
            if not await RelationRepo(s, self.team_id).link(here.id, other.id, by, steps.at):
                raise IncidentError(f"{here.ref} and {other.ref} are already linked.")
            timeline = TimelineRepo(s)
            await timeline.record(here.id, "related", templates.related_entry(other), steps.at, author_id=by)
            await timeline.record(other.id, "related", templates.related_entry(here), steps.at, author_id=by)
            return [here.id, other.id]

        here_id, other_id = await steps.db("link", record)
        here, other = await self._load(here_id), await self._load(other_id)
        out = Outcome(here, steps)
        await self._post(out, "post_here", here, templates.linked(other, by))
        await self._post(out, "post_other", other, templates.linked(here, by))
        return out

    async def duplicate(self, steps: Steps, channel_id: str, by: str, ref: str) -> Outcome:
        """Mark the channel's open incident a duplicate of `ref`'s original (a duplicate's original,
        when `ref` is one), say so in both channels and on both timelines, then resolve it."""

        async def record(s: AsyncSession) -> list[int]:
            here, named = await self._pair(s, channel_id, ref, "duplicate")
            if not here.is_open:
                raise IncidentError(
                    f"{here.ref} is already resolved: a resolved incident cannot be a duplicate."
                )
            relations = RelationRepo(s, self.team_id)
            original = await relations.original(named)
            if original.id == here.id:
                raise IncidentError(f"{named.ref} is itself a duplicate of {here.ref}.")
            await relations.mark_duplicate(here.id, original.id)
            timeline = TimelineRepo(s)
            await timeline.record(
                here.id, "duplicate", templates.duplicate_entry(original), steps.at, author_id=by
            )
            await timeline.record(
                original.id, "duplicate", templates.duplicated_entry(here), steps.at, author_id=by
            )
            return [here.id, original.id]

        here_id, original_id = await steps.db("duplicate", record)
        here, original = await self._load(here_id), await self._load(original_id)
        out = Outcome(here, steps)
        await self._post(out, "pointer_here", here, templates.is_duplicate(original, by))
        await self._post(out, "pointer_original", original, templates.has_duplicate(here, by))
        resolved = await self.lifecycle.resolve(steps, channel_id, by, templates.summary(original))
        out.warnings += resolved.warnings
        return out


MaySee = Callable[[Incident], Awaitable[bool]]


async def related_of(
    s: AsyncSession, team_id: str, incident: Incident, may_see: MaySee | None = None
) -> tuple[list[Related], Related | None]:
    """The incidents linked to `incident`, and the one it is a duplicate of, as a reader sees them: a
    private one's title only when `may_see` it (never without `may_see`)."""

    async def shown(other: Incident) -> Related:
        return templates.related(other, other.private and may_see is not None and await may_see(other))

    linked = [await shown(i) for i in await RelationRepo(s, team_id).related(incident.id)]
    original = await IncidentRepo(s, team_id).get(incident.duplicate_of) if incident.duplicate_of else None
    return linked, await shown(original) if original else None
