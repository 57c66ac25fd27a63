"""`incident-bot shell --script`: a scripted session, asserted on what it prints."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.shell import run_demo, run_script

SCRIPT = """\
/incident declare sev2 Search is down
click 3 Acknowledge
cd #incident
say Index nodes are out of disk
react 4 pushpin
wait 30m
dms @bob
/incident status
/incident resolve Freed disk on the index nodes
bogus command
react 99 pushpin
wait forever
as @nobody
"""


async def test_a_scripted_session_prints_what_the_bot_did() -> None:
    out = io.StringIO()
    assert await run_script(SCRIPT.splitlines(), out) == 0
    text = out.getvalue()
    blocks = text.split("alice@")
    by_command = {b.split(" $ ", 1)[1].splitlines()[0]: b for b in blocks if " $ " in b}

    declared = by_command["/incident declare sev2 Search is down"]
    assert "[channel_created] #incident-" in declared and "SEV2" in declared
    assert "#3 [dm] @alice" in declared and "You are paged (L1 On-call engineer)" in declared
    assert "Acknowledged by @alice" in by_command["click 3 Acknowledge"]
    assert ":white_check_mark:" in by_command["react 4 pushpin"]
    waited = by_command["wait 30m"]
    assert "You are paged (L2 Team lead)" in waited and "[dm] @bob" in waited
    assert "a status update is due" in waited
    assert "You are paged (L2 Team lead)" in by_command["dms @bob"]
    status = by_command["/incident status"]
    for expected in ("only @alice sees this", "Investigating", "L3 Engineering manager"):
        assert expected in status, expected
    assert "Resolved · INC-1" in by_command["/incident resolve Freed disk on the index nodes"]
    assert "! unknown command 'bogus'" in by_command["bogus command"]
    assert "! no message #99 shown yet" in by_command["react 99 pushpin"]
    assert "! usage: wait <duration>" in by_command["wait forever"]
    assert "! no user '@nobody'" in by_command["as @nobody"]


def timeline_of(text: str) -> list[str]:
    """The event column of the postmortem's timeline table, in the order it lists them."""
    table = text[text.index("| Time (UTC) | Event |") :].split("\n\n")[0]
    return [row.split(" | ", 1)[1] for row in table.splitlines()[2:]]


async def test_the_demo_clock_moves_like_time_and_its_timeline_is_in_the_order_things_happened() -> None:
    out = io.StringIO()
    assert await run_demo(out) == 0
    text = out.getvalue()
    assert "while the bot was down" not in text, "the bot never stopped, so nothing was late"
    events = timeline_of(text)
    assert not [e for e in events if "(late" in e], events
    order = [
        "Declared SEV2",
        "acknowledged the L1 page",
        "is now scribe",
        "**Pinned** (alice): Seeing 502s",
        "**Scribe** (bob): Gateway pods are OOM-killed",
        "Update (Investigating → Identified)",
        "**Scribe** (bob): Rollback finished",
        "**Note** (alice): Customer support confirms",
        "Paged L2 Team lead: bob",
        "Update (Identified → Monitoring)",
        "Resolved:",
    ]
    found = [next(i for i, e in enumerate(events) if part in e) for part in order]
    assert found == sorted(found), events


FORM_SCRIPT = """\
/incident declare
submit
fill severity sev9
fill title Search is down
fill severity SEV2
fill impact Nobody can search the catalogue
form
as @bob
submit
as @alice
submit
form
"""


async def test_a_form_the_bot_shows_can_be_filled_and_submitted_by_the_person_it_was_shown_to() -> None:
    out = io.StringIO()
    assert await run_script(FORM_SCRIPT.splitlines(), out) == 0
    by_command = commands(out.getvalue())
    assert "Declare an incident" in by_command["alice@/incident declare"]
    assert "`fill <field> <value>`" in by_command["alice@/incident declare"]
    assert "! Title and Severity are required" in by_command["alice@submit"]
    assert "! sev9 is not a choice for Severity" in by_command["alice@fill severity sev9"]
    shown = by_command["alice@form"]
    assert "Search is down" in shown and "SEV2" in shown and "Nobody can search" in shown
    assert "! @bob has no form open" in by_command["bob@submit"]
    declared = by_command["alice@submit#2"]
    assert "[channel_created] #incident-" in declared and "Search is down" in declared
    assert "Nobody can search the catalogue" in declared
    assert "! @alice has no form open" in by_command["alice@form#2"]


DM_SCRIPT = """\
/incident declare sev2 Search is down
as @carol
click 3 Escalate now
click 3 Acknowledge
react 3 eyes
as @alice
click 3 Acknowledge
"""


async def test_only_the_person_a_dm_was_sent_to_can_click_its_buttons() -> None:
    out = io.StringIO()
    assert await run_script(DM_SCRIPT.splitlines(), out) == 0
    by_command = commands(out.getvalue())
    for step in ("carol@click 3 Escalate now", "carol@click 3 Acknowledge", "carol@react 3 eyes"):
        assert "! #3 is a DM to @alice: only @alice sees it" in by_command[step], step
        assert "[click]" not in by_command[step] and "[dm]" not in by_command[step], step
    assert "Acknowledged by @alice" in by_command["alice@click 3 Acknowledge"]
    assert "You are paged (L2" not in out.getvalue(), "nobody escalated"


def commands(text: str) -> dict[str, str]:
    """What each command printed, keyed `user@command` (`#2`, `#3` … for repeats)."""
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=\w+@#\S+ \$ )", "\n" + text):
        head, _, rest = block.partition(" $ ")
        if not rest:
            continue
        base = f"{head.split('@')[0].strip()}@{rest.splitlines()[0]}"
        key, n = base, 1
        while key in found:
            n += 1
            key = f"{base}#{n}"
        found[key] = rest
    return found


INSTALL = """\
/incident declare sev2 Search is down
install T0ACME
/incident declare sev1 Acme login broken
/incident list
workspace T0EMU
/incident list
install acme!
"""


async def test_install_adds_a_workspace_with_oauth_and_each_keeps_to_itself() -> None:
    out = io.StringIO()
    assert await run_script(INSTALL.splitlines(), out) == 0
    text = out.getvalue()
    blocks = text.split("alice@")
    installed = next(b for b in blocks if b.startswith("#general $ install T0ACME"))
    assert "installed in T0EMU" in installed and "installed in T0ACME Acme" in installed
    lists = [b for b in blocks if b.startswith("#general $ /incident list")]
    assert "Acme login broken" in lists[0] and "Search is down" not in lists[0]
    assert "Search is down" in lists[1] and "Acme login broken" not in lists[1]
    # Each workspace counts its own incidents: both are INC-1.
    assert "SEV1 · INC-1: Acme login broken" in text and "SEV2 · INC-1: Search is down" in text
    assert "! usage: install <team id>" in blocks[-1]


async def test_a_script_prints_where_its_web_view_is() -> None:
    out = io.StringIO()
    assert await run_script(["/incident list"], out) == 0
    assert re.search(r"web view while this runs: http://127\.0\.0\.1:\d+/ui/", out.getvalue())


MENTIONS = """\
people
/incident declare sev2 Search is down
cd #incident
/incident scribe @Carol
say @bob can you look at the index nodes? mail ops@example.com
say ping @zed
/incident status
"""


async def test_at_names_become_mentions_and_people_lists_who_is_who() -> None:
    out = io.StringIO()
    assert await run_script(MENTIONS.splitlines(), out) == 0
    by_command = commands(out.getvalue())
    people = by_command["alice@people"]
    rows = {line.split()[0]: line for line in people.splitlines()[1:] if line.strip().startswith("@")}
    assert set(rows) == {"@alice", "@bob", "@carol", "@dave"}, people
    assert "U0ALICE" in rows["@alice"] and "L1" in rows["@alice"] and "primary" in rows["@alice"]
    assert "U0BOB" in rows["@bob"] and "L2 Team lead" in rows["@bob"]
    assert "L3 Engineering manager" in rows["@carol"] and "primary" in rows["@carol"]
    assert "U0DAVE" in rows["@dave"] and "L4 CTO/VP" in rows["@dave"]
    assert "@carol is now *scribe*" in by_command["alice@/incident scribe @Carol"]
    said = by_command["alice@say @bob can you look at the index nodes? mail ops@example.com"]
    assert "@bob can you look" in said and "ops@example.com" in said
    unknown = by_command["alice@say ping @zed"]
    assert "ping @zed" in unknown and "no one called @zed" in unknown and "`people`" in unknown


async def test_at_names_reach_slack_as_user_ids() -> None:
    from bot.shell import Shell

    shell = await Shell(io.StringIO()).start()
    try:
        await shell.run("say hello @Bob and @carol, not @zed")
        [message] = [m for m in shell.ws.channel("C0GENERAL").messages if m.user == "U0ALICE"]
        assert message.text == "hello <@U0BOB> and <@U0CAROL>, not @zed"
    finally:
        await shell.stop()


OWN_POLICY = """\
announce_channel = "#incidents"

[[escalation.levels]]
name = "L1"
title = "Database on-call"
users = ["U0DAVE"]
"""


def test_the_shell_runs_the_policy_file_it_is_given_and_refuses_a_bad_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.delenv("INCIDENT_BOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "script.txt"
    script.write_text("people\n/incident declare sev2 Search is down\n")
    policy = tmp_path / "policy.toml"
    policy.write_text(OWN_POLICY)
    typo = tmp_path / "typo.toml"
    typo.write_text(OWN_POLICY.replace("title", "titel"))

    for given in (["--config", str(policy)], []):
        if not given:
            monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(policy))
        assert main(["shell", "--script", str(script), *given]) == 0
        out = capsys.readouterr().out
        assert "You are paged (L1 Database on-call)" in out and "[dm] @dave" in out, out
        assert "L2 Team lead" not in out, "the built-in policy was not used"
        monkeypatch.delenv("INCIDENT_BOT_CONFIG", raising=False)

    for env, given, needle in (
        ({}, ["--config", str(typo)], "titel"),
        ({"INCIDENT_BOT_CONFIG": str(typo)}, [], "titel"),
        ({"INCIDENT_BOT_CONFIG": str(tmp_path / "no-such.toml")}, [], "cannot read config file"),
    ):
        with monkeypatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            assert main(["shell", "--script", str(script), *given]) == 2
        ran = capsys.readouterr()
        lines = ran.err.strip().splitlines()
        assert len(lines) == 1 and "configuration error" in lines[0] and needle in lines[0], ran.err
        assert "paged" not in ran.out
