"""Incident roles from the runbooks: commander, scribe, comms lead (one holder each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import IncidentError
from messages import roles as templates
from messages.incident import incident_topic
from runtime.clock import Clock
from runtime.journal import Outcome, Steps
from runtime.outbox import Outbox
from runtime.slack_ops import SlackOpError, SlackOps
from storage.db import Database
from storage.repositories import IncidentRepo, TimelineRepo


@dataclass(frozen=True)
class Role:
    """One incident role: the column holding it and what the holder does."""

    key: str
    column: str
    title: str
    duty: str


ROLES = {
    "commander": Role(
        "commander",
        "commander_id",
        "Incident commander",
        "coordinates the response and makes the decisions: who does what, when to escalate, when it is over",
    ),
    "scribe": Role(
        "scribe",
        "scribe_id",
        "Scribe",
        "records the timeline: what was seen, decided and done, and when (your messages here go on it)",
    ),
    "comms": Role(
        "comms",
        "comms_id",
        "Communications lead",
        "posts updates to stakeholders and customers, so the responders can keep working",
    ),
}


class Roles:
    """Assign roles: record, invite, announce in the channel, tell the assignee."""

    def __init__(self, db: Database, slack: SlackOps, clock: Clock, team_id: str, outbox: Outbox) -> None:
        self.db, self.slack, self.clock, self.team_id = db, slack, clock, team_id
        self.outbox = outbox  # role_assigned, for the workflows (and webhooks that ask for it)

    async def assign(self, steps: Steps, channel_id: str, role_key: str, user_id: str, by: str) -> Outcome:
        """Give `role_key` to `user_id` in the incident of `channel_id`: invited first, so a person
        who cannot be invited (or the bot itself) is never given the role."""
        role = ROLES[role_key]
        async with self.db.session() as s:
            current = await IncidentRepo(s, self.team_id).by_channel(channel_id)
        if current is None:
            raise IncidentError(f"`/incident {role_key}` only works in an incident channel.")
        if not current.is_open:
            raise IncidentError(f"{current.ref} is already resolved.")
        if getattr(current, role.column) == user_id and not steps.recorded("record")[0]:
            raise IncidentError(f"<@{user_id}> is already the {role.title.lower()} of {current.ref}.")
        if user_id == await self.slack.bot_user_id():
            raise IncidentError(f"The bot cannot be the {role.title.lower()}; name a person.")
        if not steps.recorded("invite")[0]:
            try:
                await self.slack.invite(channel_id, [user_id])
            except SlackOpError as exc:
                if exc.transient:
                    raise
                raise IncidentError(
                    f"Could not invite <@{user_id}> ({exc.error}), so nobody was made {role.title.lower()}."
                ) from exc
            await steps.record("invite", True)

        async def record(s: AsyncSession) -> dict[str, Any]:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id, for_update=True)
            if incident is None:
                raise IncidentError(f"`/incident {role_key}` only works in an incident channel.")
            if not incident.is_open:
                raise IncidentError(f"{incident.ref} is already resolved.")
            previous = getattr(incident, role.column)
            if previous == user_id:
                raise IncidentError(f"<@{user_id}> is already the {role.title.lower()} of {incident.ref}.")
            setattr(incident, role.column, user_id)
            await TimelineRepo(s).record(
                incident.id,
                "role",
                f"<@{user_id}> is now {role.title.lower()} (assigned by <@{by}>)",
                steps.at,
                author_id=by,
            )
            data = {"role": role.key, "user": user_id, "previous": previous, "by": by}
            await self.outbox.record(s, incident, "role_assigned", data)
            return {"incident": incident.id, "previous": previous}

        done = await steps.db("record", record)
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(done["incident"])
        assert incident is not None
        previous = done["previous"]
        out = Outcome(incident, steps)
        await out.step(
            "post",
            lambda: self.slack.post(
                channel_id, templates.role_changed(incident, role.title, user_id, by, previous)
            ),
        )
        if role.key == "commander":
            await out.step("topic", lambda: self.slack.set_topic(channel_id, incident_topic(incident)))
        await out.step(
            "dm", lambda: self.slack.dm(user_id, templates.role_dm(incident, role.title, role.duty, by))
        )
        return out
