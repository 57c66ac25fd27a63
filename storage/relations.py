"""Related incidents (incident_links, each pair stored once with the lower id first) and duplicates
(incidents.duplicate_of), of one workspace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident, IncidentLink
from storage.repositories import IncidentRepo, insert_ignoring_duplicates


class RelationRepo:
    """Links between one workspace's incidents, and which are duplicates of which."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def link(self, a: int, b: int, by: str | None, at: datetime) -> bool:
        """Record that `a` and `b` are related (both ways); False when they already were."""
        low, high = sorted((a, b))
        return await insert_ignoring_duplicates(
            self.session, IncidentLink, incident_id=low, other_id=high, created_by=by, created_at=at
        )

    async def related(self, incident_id: int) -> list[Incident]:
        """The incidents linked to this one, whichever side it was linked from, by number."""
        link = IncidentLink
        others = union(
            select(link.other_id).where(link.incident_id == incident_id),
            select(link.incident_id).where(link.other_id == incident_id),
        )
        stmt = (
            select(Incident)
            .where(Incident.team_id == self.team_id, Incident.id.in_(others))
            .order_by(Incident.number)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def original(self, incident: Incident) -> Incident:
        """The incident a chain of duplicates ends at: `incident` itself when it is no duplicate."""
        repo, seen = IncidentRepo(self.session, self.team_id), {incident.id}
        while incident.duplicate_of is not None:
            found = await repo.get(incident.duplicate_of)
            if found is None or found.id in seen:
                break
            seen.add(found.id)
            incident = found
        return incident

    async def mark_duplicate(self, incident_id: int, original_id: int) -> None:
        """The incident, and those that were its duplicates, now point at `original_id`."""
        stmt = (
            update(Incident)
            .where(
                Incident.team_id == self.team_id,
                or_(Incident.id == incident_id, Incident.duplicate_of == incident_id),
            )
            .values(duplicate_of=original_id)
            .execution_options(synchronize_session="fetch")
        )
        await self.session.execute(stmt)
