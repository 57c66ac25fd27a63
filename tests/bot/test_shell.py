"""`incident-bot shell --script`: a scripted session, asserted on what it prints."""

from __future__ import annotations

import io

from bot.shell import run_script

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
