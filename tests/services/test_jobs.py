"""The job runner on its own (both backends): due rows go to their kind's handler, a failed one is
claimed again once its lease runs out, a kind nobody handles stays claimed without stopping the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.severity import Severity
from runtime.clock import FakeClock
from runtime.jobs import LEASE, Jobs
from storage import migrate
from storage.claims import CLAIMED
from storage.db import Database
from storage.models import Incident, ScheduledJob
from storage.repositories import IncidentRepo
from storage.schedule import DONE, SKIPPED, Claim, ScheduleRepo

TEAM = "T0JOBS"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate.upgrade(database)
    yield database
    await database.dispose()


async def _incident(db: Database, clock: FakeClock) -> int:
    async with db.session() as s:
        incident = Incident(
            title="Jobs", severity=Severity.SEV3, status="investigating", declared_at=clock.now()
        )
        return (await IncidentRepo(s, TEAM).add(incident)).id


async def _plan(db: Database, incident_id: int, kind: str, due: timedelta, clock: FakeClock) -> None:
    async with db.session() as s:
        await ScheduleRepo(s, TEAM).plan(incident_id, kind, clock.now() + due)


async def _states(db: Database) -> dict[str, str]:
    async with db.session() as s:
        return dict((await s.execute(select(ScheduledJob.kind, ScheduledJob.state))).all())


async def test_due_rows_go_to_the_handler_of_their_kind_and_later_ones_wait(db: Database) -> None:
    clock = FakeClock()
    jobs = Jobs(db, clock, TEAM)
    seen: list[tuple[str, str]] = []

    async def knock(claim: Claim) -> None:
        seen.append(("knock", claim.kind))
        await jobs.finish(claim)

    async def ring(claim: Claim) -> None:
        seen.append(("ring", claim.kind))
        await jobs.skip(claim, "nobody home")

    jobs.register("knock", knock)
    jobs.register("ring", ring)
    with pytest.raises(ValueError, match="already has a handler"):
        jobs.register("ring", knock)
    incident = await _incident(db, clock)
    await _plan(db, incident, "knock", timedelta(0), clock)
    await _plan(db, incident, "ring", timedelta(minutes=5), clock)

    assert await jobs.tick() == 1
    assert seen == [("knock", "knock")]
    clock.advance(timedelta(minutes=5))
    assert await jobs.tick() == 1
    assert seen[1:] == [("ring", "ring")]
    assert await _states(db) == {"knock": DONE, "ring": SKIPPED}
    assert await jobs.tick() == 0


async def test_a_failed_job_is_claimed_again_after_its_lease_and_an_unknown_kind_waits(db: Database) -> None:
    clock = FakeClock()
    jobs = Jobs(db, clock, TEAM)
    tries: list[int] = []

    async def flaky(claim: Claim) -> None:
        tries.append(claim.fence)
        if len(tries) == 1:
            raise RuntimeError("Slack is away")
        await jobs.finish(claim)

    jobs.register("flaky", flaky)
    incident = await _incident(db, clock)
    await _plan(db, incident, "unheard-of", timedelta(0), clock)
    await _plan(db, incident, "flaky", timedelta(0), clock)

    assert await jobs.tick() == 2
    assert tries == [1], "the unknown kind before it did not stop it"
    assert await jobs.tick() == 0, "claimed: nothing is due until the lease runs out"
    clock.advance(LEASE + timedelta(seconds=1))
    assert await jobs.tick() == 2
    assert tries == [1, 2], "claimed again with the next fence, and finished"
    assert await _states(db) == {"unheard-of": CLAIMED, "flaky": DONE}
