"""The values of incidents' custom fields."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import IncidentField


class FieldRepo:
    """Custom field values, read per incident or for many incidents at once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, incident_id: int) -> dict[str, Any]:
        """Field name → value of one incident (unset fields absent)."""
        return (await self.of_many([incident_id])).get(incident_id, {})

    async def of_many(self, incident_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Incident id → its field values."""
        ids = sorted(set(incident_ids))
        out: dict[int, dict[str, Any]] = {i: {} for i in ids}
        if not ids:
            return out
        rows = await self.session.scalars(select(IncidentField).where(IncidentField.incident_id.in_(ids)))
        for row in rows:
            out[row.incident_id][row.name] = row.value
        return out

    async def set(self, incident_id: int, name: str, value: Any, by: str | None, at: datetime) -> Any:
        """Set (or, with None, clear) a field; returns the value it had before (None if unset)."""
        row = await self.session.get(IncidentField, (incident_id, name), with_for_update=True)
        before = row.value if row is not None else None
        if value is None:
            if row is not None:
                await self.session.execute(
                    delete(IncidentField).where(
                        IncidentField.incident_id == incident_id, IncidentField.name == name
                    )
                )
            return before
        if row is None:
            self.session.add(
                IncidentField(incident_id=incident_id, name=name, value=value, set_by=by, set_at=at)
            )
        else:
            row.value, row.set_by, row.set_at = value, by, at
        return before

    async def incidents_with(self, name: str, value: str) -> list[int]:
        """Ids of incidents whose field `name` is `value` (or, for a multi-select, holds it)."""
        rows = await self.session.execute(
            select(IncidentField.incident_id, IncidentField.value).where(IncidentField.name == name)
        )
        return [i for i, v in rows if v == value or (isinstance(v, list) and value in v)]
