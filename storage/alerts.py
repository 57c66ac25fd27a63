"""Alert groups (one per Alertmanager groupKey) and the last known status of each alert."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AlertGroup, AlertState


class AlertRepo:
    """Queries on alert_groups and alert_states."""

    def __init__(self, session: AsyncSession, team_id: str) -> None:
        self.session, self.team_id = session, team_id

    async def group(self, key_hash: str, *, for_update: bool = False) -> AlertGroup | None:
        """The group of this groupKey hash (locked for the transaction with `for_update`)."""
        return await self.session.get(AlertGroup, (self.team_id, key_hash), with_for_update=for_update)

    def add_group(self, key_hash: str, group_key: str, at: datetime) -> None:
        """A group seen for the first time, about to declare."""
        self.session.add(
            AlertGroup(
                team_id=self.team_id, key_hash=key_hash, group_key=group_key, incident_id=None, claimed_at=at
            )
        )

    async def record_states(self, incident_id: int, states: list[tuple[str, str]]) -> dict[str, str]:
        """Store (fingerprint, status) pairs; return the fingerprints whose status is new or changed."""
        stmt = select(AlertState.fingerprint, AlertState.status).where(AlertState.incident_id == incident_id)
        known = {fp: status for fp, status in (await self.session.execute(stmt)).all()}
        changed: dict[str, str] = {}
        for fingerprint, status in states:
            if fingerprint not in known:
                self.session.add(AlertState(incident_id=incident_id, fingerprint=fingerprint, status=status))
                if status == "firing":
                    changed[fingerprint] = status
            elif known[fingerprint] != status:
                await self.session.execute(
                    update(AlertState)
                    .where(AlertState.incident_id == incident_id, AlertState.fingerprint == fingerprint)
                    .values(status=status)
                )
                changed[fingerprint] = status
            known[fingerprint] = status
        return changed
