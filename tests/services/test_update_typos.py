"""A mistyped status or subcommand is caught before anything is posted ("did you mean"), and the
next update's time says its day when it is not today. Through signed requests and the emulator."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from slack_emulator import payloads
from slack_emulator.render import buttons, unescape
from storage.models import Incident, IncidentUpdate
from tests.harness import Harness

AS_STATUS, AS_WRITTEN = "update_as_status", "update_as_written"


def _posts(h: Harness, channel: str) -> list[str]:
    """Every message the bot posted in `channel`, fallback text and blocks."""
    return [
        str(c.params.get("text", "")) + json.dumps(c.params.get("blocks", ""), ensure_ascii=False)
        for c in h.emu.calls_to("chat.postMessage")
        if c.params.get("channel") == channel and c.response["ok"]
    ]


async def _state(h: Harness) -> tuple[str, list[tuple[str, str]]]:
    async with h.bot.shared.db.session() as s:
        [incident] = (await s.execute(select(Incident))).scalars()
        updates = (await s.execute(select(IncidentUpdate).order_by(IncidentUpdate.id))).scalars()
        return incident.status, [(u.status, u.text) for u in updates]


def _question(h: Harness, user: str) -> dict[str, Any]:
    """The ephemeral that asks which status was meant."""
    [asked] = [e for e in h.emu.ephemerals(user) if "looks like the status" in e["text"]]
    return asked


async def _press(h: Harness, user: str, channel: str, asked: dict[str, Any], action_id: str) -> None:
    """`user` presses a button of the question as it was first shown: a second press that raced the
    first, or a click forwarded to (or forged by) someone who cannot see the ephemeral."""
    ws = h.emu.state
    button = next(b for b in buttons(asked["blocks"]) if b.action_id == action_id)
    payload = payloads.block_actions(
        ws, user, ws.channels[channel], {"type": "message", "ts": asked["ts"]}, button,
        ws.response_url(user, channel, asked["ts"], is_ephemeral=True), ws.issue_trigger(user),
        ws.next_ts(), True,
    )  # fmt: skip
    result = await h.driver.post_raw(
        urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    )
    assert result.ok
    await h.idle()


async def _typo(h: Harness) -> tuple[str, dict[str, Any]]:
    channel = await h.declare("sev2 Checkout is down")
    before = len(_posts(h, channel))
    await h.command(h.alice, channel, "update monitorng Fix deployed, error rate back to normal")
    assert len(_posts(h, channel)) == before, "nothing is posted before the person answers"
    assert await _state(h) == ("investigating", [])
    return channel, _question(h, h.alice)


async def test_a_status_typo_asks_first_then_posts_once_with_the_status(harness: Harness) -> None:
    h = harness
    channel, asked = await _typo(h)
    assert "`monitorng` looks like the status *monitoring*" in unescape(asked["text"])
    shown = {(b.action_id, b.text) for b in buttons(asked["blocks"])}
    assert shown == {(AS_STATUS, "Post as monitoring"), (AS_WRITTEN, "Post as written")}
    before = len(_posts(h, channel))

    await h.driver.click(h.alice, channel, asked["ts"], AS_STATUS)
    await h.idle()
    assert await _state(h) == ("monitoring", [("monitoring", "Fix deployed, error rate back to normal")])
    [posted] = _posts(h, channel)[before:]
    assert "Investigating → Monitoring" in posted and "monitorng" not in posted
    [now] = [e for e in h.emu.ephemerals(h.alice) if e["ts"] == asked["ts"]]
    assert now["text"] == "Posted as *monitoring*." and not buttons(now["blocks"]), "the question gives way"

    await _press(h, h.alice, channel, asked, AS_STATUS)  # a second press changes nothing
    await _press(h, h.alice, channel, asked, AS_WRITTEN)  # nor the other button
    assert len(_posts(h, channel)) == before + 1
    assert len((await _state(h))[1]) == 1


async def test_post_as_written_keeps_the_status_and_every_word(harness: Harness) -> None:
    h = harness
    channel, asked = await _typo(h)
    await h.driver.click(h.alice, channel, asked["ts"], AS_WRITTEN)
    await h.idle()
    assert await _state(h) == (
        "investigating",
        [("investigating", "monitorng Fix deployed, error rate back to normal")],
    )


async def test_only_the_person_who_typed_it_may_press(harness: Harness) -> None:
    h = harness
    channel, asked = await _typo(h)
    await _press(h, h.bob, channel, asked, AS_STATUS)  # Bob cannot see it; a forged click all the same
    assert await _state(h) == ("investigating", [])
    told = " ".join(r.get("text", "") for r in h.emu.responses if "Only" in r.get("text", ""))
    assert f"Only <@{h.alice}>" in told

    await h.driver.click(h.alice, channel, asked["ts"], AS_STATUS)  # Bob's press used up nothing
    await h.idle()
    assert (await _state(h))[0] == "monitoring"


async def test_an_update_too_long_for_a_button_is_shown_back_whole(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    before = len(_posts(h, channel))
    text = ("monitorng " + " ".join(f"step{i}" for i in range(400)))[:2500].strip()  # a button: 2,000
    await h.command(h.alice, channel, f"update {text}")
    asked = _question(h, h.alice)
    assert not buttons(asked["blocks"]), "no button that would post a cut text"
    shown = unescape(json.dumps(asked["blocks"], ensure_ascii=False))
    assert text.removeprefix("monitorng ") in shown and "/incident update monitoring …" in shown
    assert len(_posts(h, channel)) == before and await _state(h) == ("investigating", [])


async def test_a_resolved_typo_points_at_resolve(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    before = len(_posts(h, channel))
    await h.command(h.alice, channel, "update resolvd rolled back, all good")
    said = unescape(" ".join(e["text"] for e in h.emu.ephemerals(h.alice)))
    assert "`resolvd` looks like *resolved*" in said and "/incident resolve <summary>" in said
    assert len(_posts(h, channel)) == before


async def test_a_mistyped_subcommand_gets_the_closest_one(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    cases = {
        "updte Rolling back": "Unknown command `updte`. Did you mean `update`?",
        "reslove fixed": "Unknown command `reslove`. Did you mean `resolve`?",
        "monitoring all green": "Unknown command `monitoring`. Did you mean `update monitoring`?",
        "monitorng all green": "Unknown command `monitorng`. Did you mean `update monitoring`?",
    }
    for text, expected in cases.items():
        result = await h.command(h.alice, channel, text)
        assert expected in unescape(result.body), (text, result.body)
    result = await h.command(h.alice, channel, "frobnicate now")
    assert "Did you mean" not in result.body and "Unknown command `frobnicate`" in result.body


async def test_the_next_update_names_its_day_when_it_is_not_today(harness: Harness) -> None:
    h = harness
    sev3 = await h.declare("sev3 Slow admin page")  # Sunday 03:00 UTC: due in 24 h
    [initial] = _posts(h, sev3)
    assert "by Mon 23 Nov 03:00 UTC" in initial
    sev2 = await h.declare("sev2 Checkout is down")
    assert "by 03:30 UTC" in _posts(h, sev2)[0], "today's time alone"

    await h.advance(hours=20, minutes=50)  # 23:50: a SEV2 reminder; its next slot is after midnight
    reminders = [p for p in _posts(h, sev2) if "a status update is due" in p]
    assert reminders and "next one due by Mon 23 Nov 00:00 UTC" in reminders[-1]
    await h.command(h.alice, sev2, "update identified Bad deploy")
    assert "by Mon 23 Nov 00:20 UTC" in _posts(h, sev2)[-1]
    await h.command(h.alice, sev3, "update Still looking")
    assert "by Mon 23 Nov 23:50 UTC" in _posts(h, sev3)[-1]
