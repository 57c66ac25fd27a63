"""People by name outside Slack: users.info after a request names someone and in the background pass,
kept per workspace and looked up again after a day; exports and stats show names, never Slack's markup."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta

import pytest

from tests.harness import LEVELS, Harness, paged, team
from tests.services.test_postmortem import _export

CAROL = "U0CAROL"


@pytest.fixture
def policy_data() -> dict:
    return LEVELS


def _carol(h: Harness, display_name: str = "") -> None:
    """Carol, who never set a display name: Slack shows her real name."""
    h.emu.add_user("carol", user_id=CAROL, real_name="Carol Danvers")
    h.emu.state.users[CAROL].display_name = display_name


def _looked_up(h: Harness, user: str) -> int:
    return sum(1 for c in h.emu.calls_to("users.info") if c.params.get("user") == user)


async def _stats(h: Harness, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": h.database_url}
    env.pop("INCIDENT_BOT_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "stats", "--since", "3650d", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_a_scribe_named_by_a_bare_mention_is_exported_by_name(harness: Harness) -> None:
    h = harness
    _carol(h)
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, f"scribe <@{CAROL}>")
    assert _looked_up(h, CAROL) == 1, "looked up once the request was answered"
    code, draft, err = await _export(h, "INC-1")
    assert (code, err) == (0, "")
    assert "| Scribe | Carol Danvers |" in draft
    assert "Carol Danvers is now scribe (assigned by alice)" in draft
    assert CAROL not in draft and "<@" not in draft and "&lt;@" not in draft
    code, out, _ = await _export(h, "INC-1", "--format", "json")
    data = json.loads(out)
    assert data["team"]["scribe"] == {"id": CAROL, "name": "Carol Danvers"}, "ids stay ids"
    assert data["timeline"][1]["text"] == "Carol Danvers is now scribe (assigned by alice)"


async def test_users_info_failing_leaves_the_bare_id_and_never_holds_up_a_page(harness: Harness) -> None:
    h = harness
    team(h)
    _carol(h)
    h.emu.inject("users.info", status=500, seconds=3600)
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, f"scribe <@{CAROL}>")
    await h.tick()
    assert paged(h) == ["U0ONCALL"], "the page went out while users.info fails"
    code, draft, _ = await _export(h, "INC-1")
    assert code == 0
    assert f"| Scribe | {CAROL} |" in draft and f"{CAROL} is now scribe" in draft
    assert "Paged L1 On-call engineer: U0ONCALL" in draft
    assert "<@" not in draft and "&lt;@" not in draft and f"@{CAROL}" not in draft
    _, out, _ = await _export(h, "INC-1", "--format", "json")
    assert json.loads(out)["team"]["scribe"] == {"id": CAROL, "name": None}
    await h.advance(hours=1, seconds=30)  # Slack is back: the next pass names whoever is still unnamed
    _, draft, _ = await _export(h, "INC-1")
    assert "| Scribe | Carol Danvers |" in draft and "Paged L1 On-call engineer: oncall" in draft


async def test_names_are_looked_up_again_after_a_day_and_payloads_do_not_undo_them(harness: Harness) -> None:
    h = harness
    _carol(h, display_name="Carol")
    h.emu.state.users[h.alice].display_name = "Alice O."
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, f"scribe <@{CAROL}>")
    h.emu.state.users[CAROL].display_name = "Captain Carol"
    await h.command(h.alice, channel, f"comms <@{CAROL}>")
    await h.command(h.alice, channel, "note still looking")  # Slack sends alice's handle, "alice"
    assert (_looked_up(h, CAROL), _looked_up(h, h.alice)) == (1, 1), "once a day is enough"
    _, draft, _ = await _export(h, "INC-1")
    assert "| Scribe | Carol |" in draft and "| Incident commander | Alice O. |" in draft
    h.clock.advance(timedelta(days=1, minutes=1))
    await h.command(h.alice, channel, f"commander <@{CAROL}|carol>")  # its label does not undo users.info's
    _, draft, _ = await _export(h, "INC-1")
    assert _looked_up(h, CAROL) == 2
    assert "| Scribe | Captain Carol |" in draft and "| Communications lead | Captain Carol |" in draft
    assert "| Incident commander | Captain Carol |" in draft


async def test_stats_list_people_by_name_in_their_own_time_zone(harness: Harness) -> None:
    h = harness
    team(h)
    oncall = h.emu.state.users["U0ONCALL"]
    oncall.display_name, oncall.real_name, oncall.tz = "", "Olive Oncall", "Asia/Tokyo"
    await h.declare("sev1 Database down")
    await h.tick()
    await h.advance(minutes=30)  # L2 is paged; the pass has looked up who L1 paged
    await h.advance(seconds=30)  # the next pass, who L2 paged
    out = await _stats(h)
    load = out.split("On-call load", 1)[1]
    assert "Olive Oncall" in load and "Asia/Tokyo" in load, load
    assert "U0ONCALL" not in load and "U0LEAD" not in load and "lead" in load
    data = json.loads(await _stats(h, "--format", "json"))
    rows = {r["user"]: r for r in data["pages_by_person"]}
    assert rows["U0ONCALL"]["name"] == "Olive Oncall" and rows["U0ONCALL"]["zone"] == "Asia/Tokyo"


async def test_hostile_names_and_tokens_reach_no_file_as_markup(harness: Harness) -> None:
    h = harness
    _carol(h, display_name="<!channel> <@U0BOB|bob>")
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, f"scribe <@{CAROL}>")
    await h.command(
        h.alice,
        channel,
        "note <!here> told <!subteam^S0SRE|@sre> in <#C0GENERAL|general>, see <https://dash.test/x|the dash>",
    )
    _, draft, _ = await _export(h, "INC-1")
    assert "@here told @sre in #general, see the dash (https://dash.test/x)" in draft.replace("\\", "")
    for markup in ("<!", "<@", "&lt;!", "&lt;@"):
        assert markup not in draft, markup
    _, out, _ = await _export(h, "INC-1", "--format", "json")
    for markup in ("<!", "<@"):
        assert markup not in out, markup
