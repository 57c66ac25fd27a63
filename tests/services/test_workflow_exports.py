"""Workflow runs on the timeline outside Slack, end to end: `incident-bot export` (Markdown and JSON)
says them once unescaped, with people by name, the bot's markup plain and people's markup inert."""

from __future__ import annotations

import json
import re

import pytest

from tests.harness import Harness
from tests.services.test_postmortem import _export

RAISED = {
    "name": "raised",
    "on": "severity_changed",
    "do": [
        {"post": "{{ workflow.from }}->{{ workflow.to }} & {{ incident.title }}"},
        {"dm": {"to": ["U0ANA"], "text": "Raised"}},
        {"invite": ["@nope"]},
    ],
}
LOUD = "Pay <!channel> *now* <https://evil.example.com|click>"


@pytest.mark.parametrize("policy_data", [{"workflows": [RAISED]}])
async def test_a_workflow_run_reads_once_unescaped_with_people_by_name_in_the_export(
    harness: Harness,
) -> None:
    h = harness
    h.emu.add_user("ana", user_id="U0ANA")
    await h.declare(f"sev3 {LOUD}")
    channel = h.emu.calls_to("conversations.create")[-1].response["channel"]["id"]
    await h.command(h.alice, channel, "severity sev1")  # no background pass after it: ana is named
    code, markdown, err = await _export(h, "INC-1")
    assert (code, err) == (0, "")
    [row] = [line for line in markdown.splitlines() if "raised" in line]
    assert row == (
        "| 03:00 | Workflow raised: posted “SEV3-&gt;SEV1 &amp; Pay @channel \\*now\\* click "
        "(https://evil.example…”, sent a DM to ana; step 3 (`invite`) failed: there is no user group @nope |"
    ), "escaped once (entities render as the characters), the name plain, the step's kind as code, the reason"
    assert "&amp;gt;" not in row and "U0ANA" not in row
    assert row.count("\\") == 2, "only people's own markup escaped (inert): no backslash of the bot's"

    code, out, _ = await _export(h, "INC-1", "--format", "json")
    [entry] = [e for e in json.loads(out)["timeline"] if e["kind"] == "workflow"]
    assert entry["text"].startswith("Workflow raised: posted “SEV3->SEV1 & Pay @channel *now* click (https:")
    assert entry["text"].endswith("sent a DM to ana; step 3 (`invite`) failed: there is no user group @nope")
    for text in (markdown, out):
        assert not re.search(r"<[!@#]|<https?:|&lt;[!@#]", text), "no Slack token, live or escaped"
