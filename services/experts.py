"""A service's experts (from its runbook): listed, or one area's Slack user group invited into the
incident channel and said on the timeline."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from domain.catalog import Service
from domain.errors import IncidentError
from domain.runbooks import Expert
from domain.spelling import closest
from messages import experts as templates
from messages.blocks import Message
from runtime.journal import Outcome, Steps
from runtime.slack_ops import SlackOpError, SlackOps
from services.catalog import ServiceCatalog
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo, TimelineRepo

T = TypeVar("T")
MAX_INVITE = 1000  # users per conversations.invite
DECLARE_HINT = "`/incident declare --service <name> <sev> <title>`"


class Experts:
    """Who a service's runbook says knows each area, and bringing them into its incidents."""

    def __init__(self, db: Database, slack: SlackOps, catalog: ServiceCatalog, team_id: str) -> None:
        self.db, self.slack, self.catalog, self.team_id = db, slack, catalog, team_id

    async def service_of(self, channel_id: str) -> tuple[Incident, Service]:
        """The incident of this channel and its service; a refusal that says why there is none."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
        if incident is None:
            raise IncidentError("`/incident expert` only works in an incident channel.")
        service = self.catalog.get(incident.service)
        if service is not None:
            return incident, service
        if incident.service:
            raise IncidentError(
                f"{incident.ref} is for `{incident.service}`, which is no longer a service in the policy "
                "file, so its experts are not known."
            )
        raise IncidentError(
            f"{incident.ref} was not declared for a service, so there are no experts to bring in. "
            f"A service's incident is declared with {DECLARE_HINT}."
        )

    async def listing(self, channel_id: str) -> Message:
        """The areas of this incident's service and their groups."""
        return templates.expert_list((await self.service_of(channel_id))[1])

    def expert(self, service: Service, area: str) -> Expert:
        """The expert group of `area`; else a refusal naming the closest area and every area."""
        found = service.expert(area)
        if found is not None:
            return found
        areas = [e.area for e in service.experts]
        if not areas:
            raise IncidentError(f"The runbook of `{service.name}` names no experts.")
        near = closest(area, areas)
        guess = f" Did you mean `{near.lower()}`?" if near else ""
        known = ", ".join(f"`{a.lower()}`" for a in areas[:40])
        raise IncidentError(
            f"`{service.name}` has no experts for `{area[:100]}`.{guess} Its areas: {known}. "
            "Nobody was invited."
        )

    async def bring_in(self, steps: Steps, channel_id: str, area: str, by: str) -> Outcome:
        """Invite the members of `area`'s group who are not in the channel yet, then say so on the
        timeline and in the channel; a failed invite is a warning, said in both."""
        incident, service = await self.service_of(channel_id)
        who = await self._who(steps, channel_id, service, area)
        expert, invite = Expert(who["area"], who["handle"]), list(who["invite"])
        out = Outcome(incident, steps)
        for n in range(0, len(invite), MAX_INVITE):
            batch = invite[n : n + MAX_INVITE]
            await out.step(f"invite-{n}", lambda batch=batch: self.slack.invite(channel_id, batch))
        failed = out.warnings[0] if out.warnings else None

        async def record(s: AsyncSession) -> bool:
            text = templates.timeline_text(expert, invite, failed)
            await TimelineRepo(s).record(incident.id, "expert", text, steps.at, author_id=by)
            return True

        await steps.db("record", record)
        message = templates.brought_in(incident.ref, expert, invite, by, failed)
        await out.step("post", lambda: self.slack.post(channel_id, message))
        return out

    async def _who(self, steps: Steps, channel_id: str, service: Service, area: str) -> dict[str, Any]:
        """The group and whom to invite, found once: a retry invites the same people."""
        done, who = steps.recorded("who")
        if done:
            return who  # type: ignore[no-any-return]
        expert = self.expert(service, area)
        handle = expert.handle
        if not handle.startswith("@"):
            raise IncidentError(
                f"The runbook names “{handle[:100]}” for {expert.area[:100]}, not a Slack user group "
                "(like @dba-team), so nobody was invited. Invite them with `/invite`."
            )
        group = await self._read(self.slack.usergroup_id(handle), handle)
        if group is None:
            raise IncidentError(
                f"{handle[:100]} ({expert.area[:100]}) is not a user group in this Slack workspace, "
                "so nobody was invited. Fix the runbook, or invite them with `/invite`."
            )
        bot = await self.slack.bot_user_id()
        listed = await self._read(self.slack.usergroup_members(group), handle)
        members = [u for u in dict.fromkeys(listed) if u != bot]
        if not members:
            raise IncidentError(f"{handle[:100]} ({expert.area[:100]}) has nobody in it; nobody was invited.")
        present = await self._read(self.slack.channel_members(channel_id), handle)
        who = {
            "area": expert.area,
            "handle": handle,
            "invite": [u for u in members if u not in present],
        }
        await steps.record("who", who)
        return who

    async def _read(self, call: Awaitable[T], handle: str) -> T:
        """A read before anything is done: retried when transient, else a refusal saying why."""
        try:
            return await call
        except SlackOpError as exc:
            if exc.transient:
                raise
            raise IncidentError(
                f"Could not find out who is in {handle[:100]} ({exc.what}: {exc.error}); nobody was invited."
            ) from exc
