"""Who gets an incident's news by DM: the subscriptions table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident, Subscription
from storage.repositories import insert_ignoring_duplicates


class SubscriptionRepo:
    """Subscriptions to one workspace's incidents."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def add(self, incident_id: int, user_id: str, at: datetime) -> bool:
        """Subscribe `user_id`; False when they already were."""
        return await insert_ignoring_duplicates(
            self.session, Subscription, incident_id=incident_id, user_id=user_id, created_at=at
        )

    async def remove(self, incident_id: int, user_id: str) -> bool:
        """Unsubscribe `user_id`; False when they were not subscribed."""
        stmt = delete(Subscription).where(
            Subscription.incident_id == incident_id, Subscription.user_id == user_id
        )
        return bool((await self.session.execute(stmt)).rowcount)

    async def subscribers(self, incident_id: int) -> list[str]:
        """Everyone subscribed to an incident, the earliest first."""
        stmt = (
            select(Subscription.user_id)
            .where(Subscription.incident_id == incident_id)
            .order_by(Subscription.created_at, Subscription.user_id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def of_user(self, user_id: str) -> list[Incident]:
        """The workspace's incidents `user_id` is subscribed to, the newest first."""
        stmt = (
            select(Incident)
            .join(Subscription, Subscription.incident_id == Incident.id)
            .where(Incident.team_id == self.team_id, Subscription.user_id == user_id)
            .order_by(Incident.declared_at.desc(), Incident.id.desc())
        )
        return list((await self.session.execute(stmt)).scalars())
