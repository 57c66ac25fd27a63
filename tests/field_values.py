"""Custom fields for tests that read them: a `[[fields]]` of each type, and values stored as
`/incident set` stores them (so reading them can be tested apart from setting them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.fields import FieldRepo
from storage.models import Incident
from tests.harness import Harness

FIELDS: list[dict[str, Any]] = [
    {"name": "region", "label": "Region", "type": "select", "options": ["EU", "US", "APAC"]},
    {"name": "products", "label": "Affected products", "type": "multi_select", "options": ["Cart", "Pay"]},
    {"name": "customer", "label": "Customer", "type": "text"},
    {"name": "seats", "label": "Seats affected", "type": "number"},
    {"name": "liaison", "label": "Customer liaison", "type": "user"},
    {"name": "ticket", "label": "Ticket", "type": "link"},
]


async def set_fields(h: Harness, number: int, by: str | None = None, **values: Any) -> None:
    """Give incident INC-`number` of the harness's workspace these field values (None clears one)."""
    async with h.bot.shared.db.session() as s:
        incident_id = await s.scalar(select(Incident.id).where(Incident.number == number))
        assert incident_id is not None, f"no INC-{number}"
        repo = FieldRepo(s)
        for name, value in values.items():
            await repo.set(incident_id, name, value, by or h.alice, h.clock.now())
