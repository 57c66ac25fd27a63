"""Announcements that follow the incident: a severity change or a reopen said in the announcement's
thread and the announcement edited (severity, status), in the announce channel and each `[[announce]]`
rule's; a private incident's redacted throughout."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from storage.models import Announcement
from tests.harness import Harness

RUNBOOK = str(Path(__file__).parent / "runbooks" / "cache.md")


def _top(h: Harness, channel: str) -> list[dict[str, Any]]:
    """The channel's messages, thread replies left out, as they read now (edits applied)."""
    return [m for m in h.emu.messages(channel) if m.get("thread_ts", m["ts"]) == m["ts"]]


def _replies(h: Harness, channel: str, ts: str) -> list[str]:
    return [json.dumps(m) for m in h.emu.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]


def _edits(h: Harness, channel: str, ts: str) -> list[str]:
    calls = h.emu.calls_to("chat.update")
    return [
        json.dumps(c.params, ensure_ascii=False)
        for c in calls
        if c.response.get("ok") and (c.params["channel"], c.params["ts"]) == (channel, ts)
    ]


def _shown(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


async def test_a_raise_is_said_in_the_thread_and_the_announcement_edited(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev4 Checkout latency creeping up")
    [announced] = _top(h, h.announce)
    ts = announced["ts"]
    assert "SEV4 incident declared" in _shown(announced) and "Investigating" in _shown(announced)

    await h.command(h.alice, channel, "severity sev1")
    [reply] = _replies(h, h.announce, ts)
    assert "SEV4" in reply and "SEV1" in reply and "raised" in reply and h.alice in reply
    assert len(_edits(h, h.announce, ts)) == 1
    [now] = _top(h, h.announce)
    assert now["ts"] == ts, "no new announcement: the one there is edited"
    assert "SEV1 incident declared" in _shown(now) and "SEV4" not in _shown(now)
    assert ":red_circle:" in _shown(now) and "Investigating" in _shown(now)

    # A status update moves the announcement's status; it says nothing in the thread.
    await h.command(h.alice, channel, "update identified A bad deploy of the cart service")
    assert "Identified" in _shown(_top(h, h.announce)[0])
    assert len(_replies(h, h.announce, ts)) == 1 and len(_edits(h, h.announce, ts)) == 2
    await h.command(h.alice, channel, "update Rolling back now")
    assert len(_edits(h, h.announce, ts)) == 2, "no status change, no edit"

    # Lowering is said too.
    await h.command(h.alice, channel, "severity sev2")
    assert "lowered" in _replies(h, h.announce, ts)[-1]
    assert "SEV2 incident declared" in _shown(_top(h, h.announce)[0])


async def test_resolve_and_reopen_edit_the_announcement(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Search results are stale")
    [announced] = _top(h, h.announce)
    ts = announced["ts"]
    await h.command(h.alice, channel, "update mitigating Reindexing")
    h.clock.advance(timedelta(minutes=45))
    await h.command(h.alice, channel, "resolve Index rebuilt")
    first, note = _top(h, h.announce)
    assert first["ts"] == ts and "Resolved after 45m" in _shown(first) and "Mitigating" not in _shown(first)
    assert "SEV2 incident resolved" in _shown(note), "the resolution is still said in the channel"

    await h.command(h.alice, channel, "reopen Stale again after the next deploy")
    [reply] = _replies(h, h.announce, ts)
    assert "reopened" in reply and "Stale again after the next deploy" in reply
    now = _top(h, h.announce)[0]
    assert "Mitigating" in _shown(now) and "Resolved" not in _shown(now), "open again, as before resolution"
    assert len(_top(h, h.announce)) == 2, "the reopen is in the thread, not a new message"


TITLE = "Embargoed breach at Globex"


def _redacted(text: str, *secret: str) -> bool:
    return not any(word.lower() in text.lower() for word in ("embargoed", "breach", "globex", *secret))


async def test_a_private_incidents_announcement_stays_redacted(harness: Harness) -> None:
    h = harness
    h.emu.add_channel("exec", channel_id="C0EXEC", members=["U0BOT"])
    h.policy = h.policy_for(announce=[{"channel": "C0EXEC", "severity": ["sev1"]}])
    await h.restart()
    channel = await h.declare(f"--private sev4 {TITLE}")
    [announced] = _top(h, h.announce)
    ts = announced["ts"]
    await h.command(h.alice, channel, "severity sev1")
    await h.command(h.alice, channel, "update identified Leaked keys in the Globex bucket")
    await h.command(h.alice, channel, "resolve keys rotated")
    await h.command(h.alice, channel, "postmortem done https://docs.example.com/pm/globex")
    await h.command(h.alice, channel, "reopen Globex bucket still public")

    replies = _replies(h, h.announce, ts)
    assert len(replies) == 2 and "SEV4" in replies[0] and "SEV1" in replies[0] and "reopened" in replies[1]
    said = [c.params for c in h.emu.calls_to("chat.postMessage") + h.emu.calls_to("chat.update")]
    to_announce = [json.dumps(p) for p in said if p.get("channel") == h.announce]
    assert len(to_announce) == 1 + 2 + 1 + 4, "the announcement, replies, the resolution, four edits"
    for text in to_announce + [json.dumps(m) for m in h.emu.messages(h.announce)]:
        assert _redacted(text, "leaked", "bucket", "rotated", "docs.example.com", channel, "INC-"), text
    assert "SEV1" in _shown(_top(h, h.announce)[0]) and "Identified" in _shown(_top(h, h.announce)[0])
    assert h.emu.messages("C0EXEC") == [], "no [[announce]] rule for a private incident"


RULES = {
    "services": [{"name": "cache", "runbook": RUNBOOK}],
    "announce": [
        {"channel": "#exec-incidents", "severity": ["sev1", "sev2"]},
        {"channel": "C0CACHETEAM", "service": ["cache"]},
    ],
}


async def _with_rules(h: Harness, exec_members: list[str]) -> None:
    h.emu.add_channel("exec-incidents", channel_id="C0EXEC", members=exec_members)
    h.emu.add_channel("cache-team", channel_id="C0CACHETEAM", members=["U0BOT"])
    h.policy = h.policy_for(**RULES)
    await h.restart()


async def _rows(h: Harness) -> list[tuple[int, str, str | None]]:
    async with h.bot.shared.db.session() as s:
        rows = await s.scalars(select(Announcement).order_by(Announcement.incident_id, Announcement.channel))
        return [(r.incident_id, r.channel, r.channel_id) for r in rows]


async def test_announce_rules_by_severity_and_service_follow_a_raise(harness: Harness) -> None:
    h = harness
    await _with_rules(h, exec_members=[])  # the bot joins #exec-incidents when it first posts there
    cache = await h.declare("--service cache sev3 Evictions everywhere")
    assert len(_top(h, h.announce)) == 1 and len(_top(h, "C0CACHETEAM")) == 1
    assert _top(h, "C0EXEC") == [], "SEV3 is not the exec rule's"
    [team_ts] = [m["ts"] for m in _top(h, "C0CACHETEAM")]
    assert "Evictions everywhere" in _shown(_top(h, "C0CACHETEAM")[0])

    await h.command(h.alice, cache, "severity sev2")
    [exec_announcement] = _top(h, "C0EXEC")
    assert "SEV2 incident declared" in _shown(exec_announcement) and "Evictions" in _shown(exec_announcement)
    assert [c.params["channel"] for c in h.emu.calls_to("conversations.join")] == ["C0EXEC"]
    assert _replies(h, "C0EXEC", exec_announcement["ts"]) == [], "it is news there: no reply needed"
    for where, ts in ((h.announce, _top(h, h.announce)[0]["ts"]), ("C0CACHETEAM", team_ts)):
        [reply] = _replies(h, where, ts)
        assert "SEV3" in reply and "SEV2" in reply
        assert len(_edits(h, where, ts)) == 1 and "SEV2" in _shown(_top(h, where)[0])

    await h.command(h.alice, cache, "severity sev1")
    assert len(_top(h, "C0EXEC")) == 1, "announced there once"
    assert len(_replies(h, "C0EXEC", exec_announcement["ts"])) == 1
    assert "SEV1" in _shown(_top(h, "C0EXEC")[0])

    await h.declare("sev2 Login page is slow")
    await h.declare("--private --service cache sev1 Cache keys leaked")
    assert await _rows(h) == [
        (1, "#exec-incidents", "C0EXEC"),
        (1, "C0CACHETEAM", "C0CACHETEAM"),
        (1, "C0INCIDENTS", "C0INCIDENTS"),
        (2, "#exec-incidents", "C0EXEC"),
        (2, "C0INCIDENTS", "C0INCIDENTS"),
        (3, "C0INCIDENTS", "C0INCIDENTS"),
    ]
    assert all("leaked" not in _shown(m) for m in h.emu.messages("C0CACHETEAM") + h.emu.messages("C0EXEC"))

    # The resolution and the postmortem reach every channel that was told.
    await h.command(h.alice, cache, "resolve Raised maxmemory")
    await h.command(h.alice, cache, "postmortem done https://docs.example.com/pm/cache")
    for where in (h.announce, "C0CACHETEAM", "C0EXEC"):
        first = next(m for m in _top(h, where) if "Evictions" in _shown(m))
        assert "Resolved after" in _shown(first)
        assert any("resolved" in _shown(m) and "Evictions" in _shown(m) for m in _top(h, where)[1:])
        assert "docs.example.com/pm/cache" in _replies(h, where, first["ts"])[-1]


async def test_a_retry_after_slack_fails_says_each_thing_once(harness: Harness) -> None:
    h = harness
    await _with_rules(h, exec_members=["U0BOT"])
    cache = await h.declare("--service cache sev3 Evictions everywhere")
    h.emu.inject("chat.update", status=503, times=2)  # the second channel's edit fails too, on the retry
    await h.command(h.alice, cache, "severity sev1")
    await h.advance(seconds=5)
    await h.advance(seconds=30)
    for where in (h.announce, "C0CACHETEAM"):
        ts = _top(h, where)[0]["ts"]
        assert len(_replies(h, where, ts)) == 1
        assert len(_edits(h, where, ts)) == 1 and "SEV1" in _shown(_top(h, where)[0])
    assert len(_top(h, "C0EXEC")) == 1


async def test_an_announcement_kept_only_on_the_incident_is_still_followed(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev3 Slow exports")
    async with h.bot.shared.db.session() as s:
        await s.execute(delete(Announcement))  # as declared before announcements were kept per channel
    ts = _top(h, h.announce)[0]["ts"]
    await h.command(h.alice, channel, "severity sev2")
    assert len(_replies(h, h.announce, ts)) == 1 and len(_edits(h, h.announce, ts)) == 1
    assert len(_top(h, h.announce)) == 1, "not announced again"
