"""Each process's cache of workspaces follows the stored tokens: a reinstall or an uninstall seen by
another process (a web replica, serve beside its worker) reaches this one within REFRESH."""

from __future__ import annotations

import pytest

from domain.workspace import Team
from runtime.workspaces import REFRESH, Workspaces

TEAM = Team("T0ONE")


class StoredTokens:
    """The installation store as every process sees it."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {TEAM.team_id: "xoxb-old"}
        self.down = False

    async def token(self, team: Team) -> str | None:
        if self.down:
            raise ConnectionError("database unreachable")
        return self.tokens.get(team.team_id)

    async def teams(self) -> list[Team]:
        return [Team(t) for t in self.tokens]

    async def forget(self, team: Team) -> None:
        self.tokens.pop(team.team_id, None)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def world() -> tuple[StoredTokens, Clock, Workspaces[str]]:
    store, clock = StoredTokens(), Clock()
    return store, clock, Workspaces(store, lambda team, token: f"{team.team_id} with {token}", clock)


async def test_a_reinstall_elsewhere_is_picked_up_after_refresh(
    world: tuple[StoredTokens, Clock, Workspaces[str]],
) -> None:
    store, clock, workspaces = world
    assert await workspaces.get(TEAM) == "T0ONE with xoxb-old"
    store.tokens[TEAM.team_id] = "xoxb-new"  # the OAuth callback ran in the other process
    clock.t += REFRESH / 2
    assert await workspaces.get(TEAM) == "T0ONE with xoxb-old"  # trusted for a while: no read per request
    clock.t += REFRESH
    assert await workspaces.get(TEAM) == "T0ONE with xoxb-new"


async def test_an_uninstall_elsewhere_stops_this_process_too(
    world: tuple[StoredTokens, Clock, Workspaces[str]],
) -> None:
    store, clock, workspaces = world
    assert await workspaces.get(TEAM) is not None
    await store.forget(TEAM)
    clock.t += REFRESH + 1
    assert await workspaces.get(TEAM) is None
    assert workspaces.cached() == []


async def test_a_store_that_cannot_be_read_keeps_the_token_in_hand(
    world: tuple[StoredTokens, Clock, Workspaces[str]],
) -> None:
    store, clock, workspaces = world
    assert await workspaces.get(TEAM) == "T0ONE with xoxb-old"
    store.down = True
    clock.t += REFRESH + 1
    assert await workspaces.get(TEAM) == "T0ONE with xoxb-old"
