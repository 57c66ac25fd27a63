"""Which Slack workspace something belongs to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Team:
    """A Slack workspace: its team id, and its organisation's for Enterprise Grid (org-wide installs
    are found by the enterprise id alone)."""

    team_id: str
    enterprise_id: str | None = None
    is_enterprise_install: bool = False


class NotInstalled(Exception):
    """The app has no token for a workspace (uninstalled, or its token revoked): work for it waits."""
