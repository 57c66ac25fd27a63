"""The web view names people from its own workspace only, and reads only the names a page shows:
the people table of a large workspace is never loaded whole for one page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from storage.people import PeopleRepo
from tests.harness import Harness
from tests.web.test_web_view import WebHarness, _text, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

TEAM = "T0EMU"


async def _seed(h: Harness) -> None:
    async with h.bot.shared.db.session() as s:
        here = PeopleRepo(s, TEAM)
        for n in range(40):
            await here.remember(f"U9{n:04d}", f"Bystander {n}")
        await here.remember("U0CAROL", "Carol Mentioned")
        await PeopleRepo(s, "T0OTHER").remember(h.alice, "Mallory Elsewhere")


async def test_pages_read_only_the_names_they_show_and_only_their_workspaces(web_harness: WebHarness) -> None:
    h = web_harness
    await _seed(h)
    channel = await h.declare("sev2 Payments are down")
    await h.command(h.alice, channel, "note asked <@U0CAROL> to look at the queue")
    asked: list[set[str]] = []

    def on_people(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM people" in statement:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            asked.append({v for v in values if isinstance(v, str)} - {TEAM})

    engine = h.bot.shared.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_people)
    session = await sign_in(h, h.alice)
    try:
        pages = {}
        for path in ("/ui/", "/ui/incidents/1", "/ui/metrics"):
            asked.clear()
            status, pages[path] = await _text(session, h.url + path)
            assert status == 200, path
            assert all(asked), f"{path}: every read of people names whom it wants"
            assert not {u for ids in asked for u in ids if u.startswith("U9")}, f"{path} read bystanders"
            pages[path + " asked"] = set().union(*asked)
    finally:
        event.remove(engine, "before_cursor_execute", on_people)
        await session.close()
    assert pages["/ui/ asked"] == {h.alice}, "the list names its commanders"
    assert "<td>alice</td>" in pages["/ui/"] and "Mallory Elsewhere" not in pages["/ui/"]
    assert pages["/ui/incidents/1 asked"] == {h.alice, "U0CAROL"}
    assert "asked Carol Mentioned to look" in pages["/ui/incidents/1"], "the draft names the person mentioned"
    assert "Mallory Elsewhere" not in pages["/ui/incidents/1"]
    assert pages["/ui/metrics asked"] == set(), "nobody was paged: no names to read"
