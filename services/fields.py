"""A team's own fields on an incident: set at declaration, with `/incident set`, or in the resolve form;
each change on the timeline, noted in the channel and sent to webhooks as `field_changed`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.custom_fields import CustomField
from config.policy import Policy
from domain.errors import IncidentError
from domain.fields import Value, shown
from messages import fields as templates
from runtime.journal import Outcome, Steps
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOps
from storage.db import Database
from storage.fields import FieldRepo
from storage.models import Incident
from storage.repositories import IncidentRepo, TimelineRepo

Change = tuple[str, Value | None, Value | None]  # name, before, after


async def record_declared(
    s: AsyncSession, policy: Policy, incident: Incident, values: Mapping[str, Value], by: str | None
) -> None:
    """The values given with a declaration, in its transaction, each on the timeline."""
    repo, timeline = FieldRepo(s), TimelineRepo(s)
    for field in policy.fields:
        value = values.get(field.name)
        if shown(field.type, value) is None:
            continue
        await repo.set(incident.id, field.name, value, by, incident.declared_at)
        text = templates.change_text(field, None, value)
        await timeline.record(incident.id, "field", text, incident.declared_at, author_id=by)


def _json(value: Value | None) -> Value | int | None:
    """A value as a webhook carries it: a whole number as an integer, none when unset."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return None if value == [] else value


def missing(policy: Policy, values: Mapping[str, Value], when: str) -> list[CustomField]:
    """The fields `required` at `when` (`declare`, `resolve`) that have no value."""
    return [f for f in policy.fields if f.required == when and shown(f.type, values.get(f.name)) is None]


class Fields:
    """One workspace's custom field values: read, set and shown."""

    def __init__(self, db: Database, slack: SlackOps, policy: Policy, outbox: Outbox, team_id: str) -> None:
        self.db, self.slack, self.policy, self.outbox, self.team_id = db, slack, policy, outbox, team_id

    async def of_channel(self, channel_id: str) -> tuple[Incident, dict[str, Value]]:
        """The channel's incident and its field values; a refusal outside an incident channel."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
            if incident is None:
                raise IncidentError("`/incident set` only works in an incident channel.")
            return incident, await FieldRepo(s).of(incident.id)

    async def values(self, incident_id: int) -> dict[str, Value]:
        """An incident's field values (unset ones absent)."""
        async with self.db.session() as s:
            return await FieldRepo(s).of(incident_id)

    async def missing_to_resolve(self, channel_id: str) -> tuple[Incident | None, list[CustomField]]:
        """The channel's open incident and its fields still needed to resolve it (none for a resolved
        incident, or outside an incident channel: resolving says why itself)."""
        if not any(f.required == "resolve" for f in self.policy.fields):
            return None, []
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
            if incident is None or not incident.is_open:
                return incident, []
            return incident, missing(self.policy, await FieldRepo(s).of(incident.id), "resolve")

    async def require_to_resolve(self, channel_id: str) -> None:
        """Refuse (naming them and how to set them) while a field required to resolve is unset."""
        incident, needed = await self.missing_to_resolve(channel_id)
        if incident is not None and needed:
            names = ", ".join(f"{f.title} (`{f.name}`)" for f in needed)
            raise IncidentError(
                f"{incident.ref} needs {names} before it is resolved: `/incident set <field> <value>`, "
                "or `/incident resolve` opens a form with them."
            )

    async def shown(self, incident: Incident, where: str) -> list[str]:
        """The `*Label*: value` lines of the fields shown at `where` that are set."""
        if not self.policy.fields:
            return []
        return templates.shown_lines(self.policy.fields, await self.values(incident.id), where)

    async def set(
        self, steps: Steps, channel_id: str, by: str, values: Mapping[str, Value | None], batch: bool = False
    ) -> Outcome:
        """Set (None: clear) fields of the channel's incident in one transaction: each change on the
        timeline and to webhooks, then one note in the channel. A value a field already has is refused,
        or in a `batch` skipped."""

        async def record(s: AsyncSession) -> dict[str, Any]:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id, for_update=True)
            if incident is None:
                raise IncidentError("`/incident set` only works in an incident channel.")
            repo, timeline, changes = FieldRepo(s), TimelineRepo(s), []
            for name, value in values.items():
                field = self._field(name)
                before = await repo.set(incident.id, name, value, by, steps.at)
                if before == value:
                    continue
                changes.append((name, before, value))
                text = templates.change_text(field, before, value)
                await timeline.record(incident.id, "field", text, steps.at, author_id=by)
                data = {
                    "name": name,
                    "label": field.title,
                    "from": _json(before),
                    "to": _json(value),
                    "by": by,
                }
                await self.outbox.record(s, incident, "field_changed", data)
            if not changes and not batch and values:
                name, value = next(iter(values.items()))
                field = self._field(name)
                raise IncidentError(f"{field.title} is already {templates.value_text(field, value)}.")
            return {"incident": incident.id, "changes": changes}

        done = await steps.db("field_record", record)
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(done["incident"])
        assert incident is not None
        out = Outcome(incident, steps)
        changes = [(self._field(n), before, after) for n, before, after in done["changes"]]
        if changes:
            note = templates.changed(by, changes)
            await out.step("field_note", lambda: self.slack.post(channel_id, note))
        return out

    def _field(self, name: str) -> CustomField:
        field = self.policy.field(name)
        if field is None:
            raise IncidentError(f"There is no field `{name}` any more.")
        return field
