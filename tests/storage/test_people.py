"""People's names per workspace (both backends): one user id in two workspaces keeps two names, a
lookup reads only the people asked for, and names kept before 0013 are carried into each workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from storage import migrate
from storage.db import Database
from storage.installations import adopt_unowned_rows
from storage.models import Incident, Person
from storage.people import PeopleRepo
from storage.repositories import IncidentRepo, TimelineRepo


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate.upgrade(database)
    yield database
    await database.dispose()


async def _rows(db: Database) -> set[tuple[str, str, str]]:
    async with db.session() as s:
        return {(p.team_id, p.user_id, p.name) for p in (await s.execute(select(Person))).scalars()}


async def test_two_workspaces_with_the_same_user_id_keep_separate_names(db: Database) -> None:
    async with db.session() as s:
        await PeopleRepo(s, "T0ALPHA").remember("U0SAME", "Ann Alpha")
        await PeopleRepo(s, "T0BRAVO").remember("U0SAME", "Bea Bravo")
    async with db.session() as s:
        await PeopleRepo(s, "T0BRAVO").remember("U0SAME", "Bea B.")  # renamed in one workspace only
    async with db.session() as s:
        assert await PeopleRepo(s, "T0ALPHA").name("U0SAME") == "Ann Alpha"
        assert await PeopleRepo(s, "T0BRAVO").name("U0SAME") == "Bea B."
        assert await PeopleRepo(s, "T0ALPHA").names() == {"U0SAME": "Ann Alpha"}
        assert await PeopleRepo(s, "T0CHARLIE").name("U0SAME") is None


async def test_names_reads_only_the_people_asked_for(db: Database) -> None:
    async with db.session() as s:
        repo = PeopleRepo(s, "T0ALPHA")
        for n in range(30):
            await repo.remember(f"U{n:04d}", f"Person {n}")
    async with db.session() as s:
        repo = PeopleRepo(s, "T0ALPHA")
        assert await repo.names(["U0003", "U0007", "U9999", "U0003"]) == {
            "U0003": "Person 3",
            "U0007": "Person 7",
        }
        assert await repo.names([]) == {}
        assert len(await repo.names()) == 30


async def test_a_looked_up_name_is_kept_over_payload_names_and_due_again_after_the_refresh(
    db: Database,
) -> None:
    at = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    async with db.session() as s:
        repo = PeopleRepo(s, "T0ALPHA")
        await repo.remember("U0ANN", "ann")
        await repo.looked_up("U0ANN", "Ann Alpha", "Ann A. Alpha", "Europe/Berlin", at)
        await repo.looked_up(
            "U0NEW", "N" * 200, None, "Z" * 100, at
        )  # cut to the columns, a bad zone dropped
    async with db.session() as s:
        repo = PeopleRepo(s, "T0ALPHA")
        await repo.remember("U0ANN", "ann")  # a payload's handle, after users.info named her
        assert await repo.names() == {"U0ANN": "Ann Alpha", "U0NEW": "N" * 120}
        assert await repo.zones(["U0ANN", "U0NEW", "U0NONE"]) == {"U0ANN": "Europe/Berlin"}
        assert await repo.due(["U0ANN", "U0NONE"], at) == {"U0NONE"}
        assert await repo.due(["U0ANN", "U0NONE"], at + timedelta(seconds=1)) == {"U0ANN", "U0NONE"}
        assert await PeopleRepo(s, "T0BRAVO").due(["U0ANN"], at) == {"U0ANN"}, "per workspace"


async def test_the_timeline_pass_reads_only_its_workspaces_entries_that_name_someone(db: Database) -> None:
    at = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    async with db.session() as s:
        ids = {}
        for team in ("T0ALPHA", "T0BRAVO"):
            incident = Incident(title="x", severity="SEV2", status="investigating", declared_at=at)
            incident.channel_id = f"C0{team}"
            ids[team] = (await IncidentRepo(s, team).add(incident)).id
        timeline = TimelineRepo(s)
        await timeline.record(ids["T0ALPHA"], "note", "hi", at, author_id="U0ANN")
        await timeline.record(ids["T0BRAVO"], "note", "asked <@U0EVE>", at, author_id="U0BOB")
        await timeline.record(ids["T0ALPHA"], "paged", "Paged L1: <@U0CAT>", at)
        await timeline.record(ids["T0ALPHA"], "declared", "nobody named", at)
    async with db.session() as s:
        rows = await PeopleRepo(s, "T0ALPHA").timeline_after(0, 10)
        assert [(r.author_id, r.text) for r in rows] == [("U0ANN", "hi"), (None, "Paged L1: <@U0CAT>")]
        assert await PeopleRepo(s, "T0ALPHA").timeline_after(rows[0].id, 1) == rows[1:]
        assert await PeopleRepo(s, "T0ALPHA").timeline_after(rows[1].id, 10) == []


async def _at_0012(database_url: str) -> Database:
    """A database migrated only to 0012 (the shared PostgreSQL one started over)."""
    from alembic import command

    db = Database(database_url)
    async with db.engine.begin() as conn:
        if not db.is_sqlite:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await conn.run_sync(lambda sync: command.upgrade(migrate._alembic_config(sync), "0012"))
    return db


_INCIDENT = (
    "INSERT INTO incidents (team_id, number, channel_id, title, severity, status, declared_at)"
    " VALUES (:team, 1, :channel, 'Old', 'SEV2', 'investigating', '2026-11-01 10:00:00.000000')"
)


async def test_names_kept_before_go_to_every_workspace_with_incidents(database_url: str) -> None:
    db = await _at_0012(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO people (user_id, name) VALUES ('U0ANN', 'Ann')"))
            for team, channel in (("T0ALPHA", "C0A"), ("T0BRAVO", "C0B")):
                await conn.execute(text(_INCIDENT), {"team": team, "channel": channel})
        await migrate.upgrade(db)
        assert await _rows(db) == {("T0ALPHA", "U0ANN", "Ann"), ("T0BRAVO", "U0ANN", "Ann")}
    finally:
        await db.dispose()


async def test_names_from_before_any_incident_are_adopted_by_the_token_workspace(database_url: str) -> None:
    db = await _at_0012(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO people (user_id, name) VALUES ('U0ANN', 'Ann'), ('U0BOB', 'Bob')")
            )
        await migrate.upgrade(db)
        assert await _rows(db) == {("", "U0ANN", "Ann"), ("", "U0BOB", "Bob")}
        async with db.session() as s:
            await PeopleRepo(s, "T0ALPHA").remember("U0BOB", "Robert")  # seen since: this name wins
        await adopt_unowned_rows(db, "T0ALPHA")
        assert await _rows(db) == {("T0ALPHA", "U0ANN", "Ann"), ("T0ALPHA", "U0BOB", "Robert")}
    finally:
        await db.dispose()
