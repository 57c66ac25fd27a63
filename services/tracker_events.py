"""Which follow-up an issue tracker's event is about. The event names a repository and an issue
number, never a workspace: the follow-up filed as that issue says whose it is."""

from __future__ import annotations

from dataclasses import dataclass

from config.aftercare import GitHubTracker
from config.policy import Policy
from domain.workspace import Team
from runtime.trackers import GITHUB
from storage.db import Database
from storage.followups import by_tracker
from storage.repositories import IncidentRepo


def github_trackers(policy: Policy) -> list[GitHubTracker]:
    """The `[trackers.github]` of the top level and of every workspace."""
    found = [each.trackers.github for each in (policy, *policy.workspaces.values())]
    return [gh for gh in found if gh is not None]


@dataclass(frozen=True)
class FiledFollowup:
    """A follow-up filed as an issue: its workspace, and its incident's channel (None when it has none)."""

    followup_id: int
    team: Team
    channel_id: str | None


class TrackerEvents:
    """Finds the follow-up of an issue event, in whichever workspace filed it."""

    def __init__(self, db: Database, policy: Policy) -> None:
        self.db, self.policy = db, policy  # the whole policy: every workspace's trackers

    async def github_followup(self, verified: list[GitHubTracker], number: int) -> FiledFollowup | None:
        """The follow-up filed as issue `number` of a repository in `verified` (the trackers whose
        secret signed the event), provided its own workspace files into that repository under one of
        those secrets; None otherwise."""
        async with self.db.session() as s:
            for repo in sorted({gh.repo for gh in verified}):
                followup = await by_tracker(s, GITHUB, f"{repo}#{number}")
                incident = (
                    await IncidentRepo(s, followup.team_id).get(followup.incident_id) if followup else None
                )
                if followup is not None and incident is not None:
                    break
            else:
                return None
        if self.policy.of(followup.team_id).trackers.github not in verified:
            return None
        return FiledFollowup(followup.id, Team(followup.team_id, incident.enterprise_id), incident.channel_id)
