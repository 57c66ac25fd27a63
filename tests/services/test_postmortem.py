"""The postmortem draft: `incident-bot export` against a golden file, and `/incident postmortem`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from tests.harness import Harness

GOLDEN = Path(__file__).with_name("golden") / "postmortem_overnight.md"


async def _export(h: Harness, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": h.database_url}
    env.pop("INCIDENT_BOT_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "export", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _overnight_incident(h: Harness) -> str:
    """A SEV2 declared at 23:40 and resolved after midnight, with every kind of entry."""
    h.clock.advance(timedelta(hours=20, minutes=40))
    channel = await h.declare("sev2 Checkout | payments failing for EU", user=h.alice)
    h.clock.advance(timedelta(minutes=2))
    await h.command(h.alice, channel, f"scribe <@{h.bob}|bob>")
    h.clock.advance(timedelta(minutes=3))
    seen = await h.driver.say(h.alice, channel, "502s from the gateway since the 23:35 deploy")
    h.clock.advance(timedelta(minutes=4))
    await h.driver.say(h.bob, channel, "Gateway pods OOM-killed; rolling back")
    await h.driver.react(h.bob, channel, seen, "pushpin")
    h.clock.advance(timedelta(minutes=6))
    await h.command(h.alice, channel, "update identified Bad deploy of payments-gateway 4.2.0")
    h.clock.advance(timedelta(minutes=15))
    await h.command(h.bob, channel, "note Support confirms EU checkouts work again")
    h.clock.advance(timedelta(minutes=15))
    await h.command(
        h.alice, channel, "resolve Rolled back payments-gateway 4.2.0; the new cache size ran out of memory"
    )
    return channel


async def test_export_markdown_matches_the_golden_file(harness: Harness) -> None:
    h = harness
    channel = await _overnight_incident(h)
    code, by_number, err = await _export(h, "INC-1")
    assert (code, err) == (0, "")
    code, by_channel, _ = await _export(h, channel, "--format", "markdown")
    assert code == 0 and by_channel == by_number
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(by_number)
    assert by_number == GOLDEN.read_text()
    rows = [line for line in by_number.splitlines() if line.startswith("| 2026-")]
    assert rows == sorted(rows) and len(rows) == 7, rows


async def test_export_json_carries_the_same_data(harness: Harness) -> None:
    h = harness
    await _overnight_incident(h)
    code, out, _ = await _export(h, "1", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert (data["id"], data["severity"], data["status"]) == ("INC-1", "SEV2", "resolved")
    assert data["team"]["scribe"] == {"id": h.bob, "name": "bob"}
    assert data["duration_seconds"] == 45 * 60
    kinds = [e["kind"] for e in data["timeline"]]
    assert kinds == ["declared", "role", "pinned", "scribe", "update", "note", "resolved"]
    assert [e["at"] for e in data["timeline"]] == sorted(e["at"] for e in data["timeline"])
    assert data["action_items"][0]["owner"] == "alice"


async def test_export_of_an_unknown_incident_is_one_line_and_exit_2(harness: Harness) -> None:
    h = harness
    await h.declare()
    for ref in ("INC-99", "C0NOPE"):
        code, out, err = await _export(h, ref)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and ref in err


async def test_postmortem_command_uploads_a_markdown_file(harness: Harness) -> None:
    h = harness
    channel = await _overnight_incident(h)
    await h.command(h.alice, channel, "postmortem")
    [complete] = h.emu.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == channel
    [got] = h.emu.calls_to("files.getUploadURLExternal")
    assert got.params["filename"] == "INC-1-postmortem.md"
    file_id = complete.response["files"][0]["id"]
    content = h.emu.file_content(file_id).decode()
    assert content.startswith("# Postmortem: INC-1") and "| Time (UTC) | Event |" in content


async def test_postmortem_falls_back_to_a_code_block_when_uploads_are_refused(harness: Harness) -> None:
    h = harness
    channel = await _overnight_incident(h)
    h.emu.inject("files.getUploadURLExternal", error="not_allowed_token_type")
    before = len(h.emu.messages(channel))
    await h.command(h.alice, channel, "postmortem")
    posted = h.emu.messages(channel)[before:]
    assert posted and "not_allowed_token_type" in posted[0]["text"]
    body = "".join(str(m["blocks"]) for m in posted)
    assert "# Postmortem: INC-1" in body and "Blameless note" in body
