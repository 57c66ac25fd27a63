"""Who may do what to an incident (`[permissions]`), checked when a request is carried out, so a
role given by an earlier request of the same channel already counts."""

from __future__ import annotations

import logging

from config.permissions import Permission
from config.policy import Policy
from domain.errors import IncidentError
from runtime.journal import carry_on
from runtime.slack_ops import SlackOps
from services.catalog import ServiceCatalog
from services.oncall import OnCall
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo
from storage.schedule import DeliveryRepo

log = logging.getLogger(__name__)


class Permissions:
    """Checks a person against `[permissions]`: `anyone`, or the incident's responders."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        policy: Policy,
        catalog: ServiceCatalog,
        oncall: OnCall,
        team_id: str,
    ) -> None:
        self.db, self.slack, self.policy, self.oncall, self.team_id = db, slack, policy, oncall, team_id
        self.catalog = catalog

    async def require(self, permission: Permission, user: str, channel_id: str | None) -> None:
        """Return when `user` may do `permission` in the incident of `channel_id`; else IncidentError
        with an answer that says who may."""
        if self.policy.permissions.who(permission) == "anyone":
            return
        incident = None
        if channel_id:
            async with self.db.session() as s:
                incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
            if incident is None:
                return  # not an incident channel: the request itself says so
        if await self.is_responder(user, incident):
            return
        raise IncidentError(self.refusal(permission, incident))

    async def is_responder(self, user: str, incident: Incident | None) -> bool:
        """The commander, a role holder, someone on (or paged from) an escalation level, or a
        member of `responders_usergroup`."""
        if incident is not None and user in (incident.commander_id, incident.scribe_id, incident.comms_id):
            return True
        levels = self.catalog.policy_for(incident.service if incident else None).escalation.levels
        if any(user in level.users for level in levels):
            return True
        if incident is not None:
            async with self.db.session() as s:
                if await DeliveryRepo(s).was_paged(incident.id, user):
                    return True
        for name in dict.fromkeys(level.schedule for level in levels if level.schedule):
            if user in await self.oncall.now(name):
                return True
        groups = [level.usergroup for level in levels if level.usergroup]
        for level in levels:
            if level.handle:
                with carry_on(log, "could not look up user group %s", level.handle):
                    groups += [g for g in [await self.slack.usergroup_id(level.handle)] if g]
        if self.policy.permissions.responders_usergroup:
            groups.append(self.policy.permissions.responders_usergroup)
        for group in dict.fromkeys(groups):
            # Transient: retried, since a refusal must not come from Slack being down.
            with carry_on(log, "could not read user group %s", group):
                if user in await self.slack.usergroup_members(group):
                    return True
        return False

    def refusal(self, permission: Permission, incident: Incident | None) -> str:
        """Who may, in one ephemeral line; nothing was changed."""
        doing = permission.doing.format(ref=incident.ref if incident else "this incident")
        who = []
        if incident is not None and incident.commander_id:
            who.append(f"its commander <@{incident.commander_id}>")
        who.append("the holders of its roles (commander, scribe, comms)" if incident else "")
        levels = self.catalog.policy_for(incident.service if incident else None).escalation.levels
        if levels:
            names = ", ".join(level.named for level in levels)
            who.append(f"the people on the escalation levels ({names})")
        if self.policy.permissions.responders_usergroup:
            who.append(f"members of the user group `{self.policy.permissions.responders_usergroup}`")
        listed = [w for w in who if w]
        said = ", ".join(listed[:-1]) + (" and " if len(listed) > 1 else "") + listed[-1]
        return f"Only responders can {doing}: {said}. Nothing was changed."
