"""A workflow's `remind` says its words rendered for the incident, as a `post` step's are: variables
filled in, people's markup inert."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Harness

REMIND = {
    "name": "nudge",
    "on": "declared",
    "do": [{"remind": {"after": "10m", "text": "Is the status page current for {{ incident.title }}?"}}],
}


def _reminders(h: Harness, channel: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.messages(channel) if ":alarm_clock:" in (m.get("text") or "")]


@pytest.mark.parametrize("policy_data", [{"workflows": [REMIND]}])
async def test_remind_renders_its_words_for_the_incident(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout <!channel> <https://evil.example|click> is down")
    await h.advance(minutes=10, seconds=1)
    [said] = _reminders(h, channel)
    shown = said["text"] + str(said["blocks"])
    assert "{{" not in shown, "the template is rendered, not posted as written"
    assert (
        "Is the status page current for Checkout @channel click (https://evil.example) is down?"
        in said["text"]
    )
    assert "<!channel>" not in shown and "<https://evil.example" not in shown, "people's markup stays inert"
