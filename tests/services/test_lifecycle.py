"""Declare → update → resolve through signed requests, asserting on the Web API calls the bot made."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from slack_emulator.render import unescape
from storage.models import Incident, IncidentUpdate
from tests.harness import Harness


def _all_text(call) -> str:  # type: ignore[no-untyped-def]
    """Everything a chat call would show: fallback text plus blocks."""
    return str(call.params.get("text", "")) + json.dumps(call.params.get("blocks", ""), ensure_ascii=False)


async def _incidents(h: Harness) -> list[Incident]:
    async with h.bot.shared.db.session() as s:
        return list((await s.execute(select(Incident).order_by(Incident.id))).scalars())


def _posts(h: Harness, channel: str) -> list:  # type: ignore[type-arg]
    return [
        c
        for c in h.emu.calls_to("chat.postMessage")
        if c.params.get("channel") == channel and c.response["ok"]
    ]


async def test_declare_opens_channel_invites_posts_pins_and_announces(harness: Harness) -> None:
    h = harness
    result = await h.driver.command(h.alice, h.general, "declare sev2 Checkout API returns 500s")
    assert result.status == 200
    assert "Declaring a SEV2 incident" in result.body
    await h.idle()

    create = h.emu.calls_to("conversations.create")
    assert len(create) == 1
    name = create[0].params["name"]
    assert re.fullmatch(r"incident-20261122-0300-checkout-api-returns-500s", name)
    channel = create[0].response["channel"]["id"]

    invite = h.emu.calls_to("conversations.invite")
    assert [(c.params["channel"], c.params["users"]) for c in invite] == [(channel, h.alice)]
    topic = h.emu.calls_to("conversations.setTopic")[0].params["topic"]
    assert "SEV2" in topic and "Investigating" in topic and f"<@{h.alice}>" in topic

    [initial] = _posts(h, channel)
    shown = _all_text(initial)
    for expected in ("SEV2", "Investigating", f"<@{h.alice}>", "2026-11-22 03:00 UTC", "by 03:30 UTC"):
        assert expected in shown, expected
    pins = h.emu.calls_to("pins.add")
    assert [(p.params["channel"], p.params["timestamp"]) for p in pins] == [(channel, initial.response["ts"])]

    [announce] = _posts(h, h.announce)
    assert f"<#{channel}>" in _all_text(announce)
    assert "SEV2" in _all_text(announce)

    assert any(f"<#{channel}>" in (r.get("text") or "") for r in h.emu.responses), h.emu.responses
    [incident] = await _incidents(h)
    assert (incident.channel_id, incident.severity, incident.status) == (channel, "SEV2", "investigating")
    assert incident.commander_id == h.alice and incident.initial_message_ts == initial.response["ts"]
    # The declarer is in the channel, the initial post is pinned.
    assert h.alice in h.emu.channel(channel).members


async def test_update_then_resolve_after_a_restart(harness: Harness) -> None:
    h = harness
    channel = await h.declare("P1 Search is slow")
    h.clock.advance(timedelta(minutes=20))
    await h.command(h.alice, channel, "update identified Bad index on the search cluster")
    [upd] = _posts(h, channel)[1:]
    assert "Identified" in _all_text(upd) and "Bad index on the search cluster" in _all_text(upd)
    assert "Investigating → Identified" in _all_text(upd)
    assert "by 03:50 UTC" in _all_text(upd)  # SEV2 cadence: 30 minutes after this update

    await h.restart()
    h.clock.advance(timedelta(minutes=25))
    await h.command(h.alice, channel, "resolve Rebuilt the index; latency back to normal")
    resolution = _posts(h, channel)[-1]
    shown = _all_text(resolution)
    # A SEV2 postmortem is due within a week (`[postmortem] due`).
    for expected in ("Resolved", "45m", "Rebuilt the index", "Postmortem due 2026-11-29 03:45 UTC"):
        assert expected in shown, expected
    announce = _posts(h, h.announce)
    assert len(announce) == 2 and "resolved" in _all_text(announce[1])

    [incident] = await _incidents(h)
    assert incident.status == "resolved" and incident.summary.startswith("Rebuilt")
    assert incident.resolved_at - incident.declared_at == timedelta(minutes=45)
    async with h.bot.shared.db.session() as s:
        statuses = (
            (await s.execute(select(IncidentUpdate.status).order_by(IncidentUpdate.id))).scalars().all()
        )
    assert statuses == ["identified", "resolved"]


async def test_sev3_has_a_day_between_updates_and_sev4_none(harness: Harness) -> None:
    h = harness
    sev3 = await h.declare("sev3 Slow admin page")
    sev4 = await h.declare("sev4 Typo in footer")
    assert "by Mon 23 Nov 03:00 UTC" in _all_text(_posts(h, sev3)[0])  # 24 h later: tomorrow
    assert "when there is news" in _all_text(_posts(h, sev4)[0])


async def _assert_nothing_changed(h: Harness, posts_before: int, incidents_before: int) -> None:
    assert len(h.emu.calls_to("chat.postMessage")) == posts_before
    assert len(await _incidents(h)) == incidents_before


async def test_bad_input_changes_nothing_and_explains(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Payments failing")
    await h.command(h.alice, channel, "resolve Fixed it")
    posts, incidents = len(h.emu.calls_to("chat.postMessage")), 1
    cases = [
        (h.general, "frobnicate now", ["Unknown command `frobnicate`", "/incident help"]),
        (
            h.general,
            "declare sev9 Title",
            ["Unknown severity `sev9`", "sev1, sev2, sev3, sev4", "/incident declare"],
        ),
        (h.general, "declare sev2", ["needs a title", "/incident declare <sev1|sev2|sev3|sev4> <title>"]),
        (h.general, "declare sev1 " + "x" * 300, ["300 characters"]),
        (h.general, "update Still broken", ["only works in an incident channel"]),
        (h.general, "resolve Done", ["only works in an incident channel"]),
        (channel, "resolve Again", ["already resolved"]),
        (channel, "update monitoring hmm", ["already resolved"]),
        (channel, "update " + "y" * 3500, ["3500 characters"]),
    ]
    for where, text, fragments in cases:
        responses = len(h.emu.responses)
        result = await h.command(h.alice, where, text)
        assert result.status == 200
        # What the user reads: Slack shows &lt; as <.
        said = unescape(result.body + " ".join(str(r.get("text")) for r in h.emu.responses[responses:]))
        for fragment in fragments:
            assert fragment in said, (text, said)
        # Ephemeral only: nothing was posted in a channel.
        assert all(r.get("response_type", "ephemeral") == "ephemeral" for r in h.emu.responses[responses:])
        await _assert_nothing_changed(h, posts, incidents)


async def test_help_lists_every_command(harness: Harness) -> None:
    h = harness
    for text in ("help", ""):
        body = json.loads((await h.command(h.alice, h.general, text)).body)
        shown = unescape(body["text"] + json.dumps(body["blocks"], ensure_ascii=False))
        assert "<sev1" not in body["text"] + json.dumps(body["blocks"]), "raw < would be read as a link"
        for syntax in (
            "declare <sev1|sev2|sev3|sev4> <title>",
            "update [investigating",
            "resolve <summary>",
            "severity <sev1|sev2|sev3|sev4>",
            "escalate",
            "commander <@person>",
            "scribe <@person>",
            "comms <@person>",
            "note <text>",
            "timeline [share]",
            "postmortem",
            "status",
            "list",
            "help",
        ):
            assert syntax in shown
    assert h.emu.calls_to("chat.postMessage") == []


async def test_broadcast_mentions_in_user_text_are_never_sent(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev1 <!channel> DB down <!here>")
    await h.command(h.alice, channel, "update <!everyone> please look &lt;!channel&gt; <!subteam^S1|@oncall>")
    await h.command(h.alice, channel, "resolve <!channel> fixed")
    for call in h.emu.calls:
        dumped = json.dumps(call.params)
        for token in ("<!channel>", "<!here>", "<!everyone>", "<!subteam"):
            assert token not in dumped, (call.method, dumped)


async def test_two_declarations_in_the_same_minute_get_two_channels(harness: Harness) -> None:
    h = harness
    first = await h.declare("sev2 Login errors")
    second = await h.declare("sev2 Login errors")
    assert first != second
    names = [c.params["name"] for c in h.emu.calls_to("conversations.create")]
    errors = [c.response.get("error") for c in h.emu.calls_to("conversations.create")]
    assert names[0] == names[1] and errors[1] == "name_taken"
    assert names[2] != names[0] and len(names) == 3
    assert len(await _incidents(h)) == 2


async def test_an_existing_channel_with_the_name_is_never_reused(harness: Harness) -> None:
    h = harness
    h.emu.add_channel("incident-20261122-0300-login-errors", members=["U0BOT"])
    channel = await h.declare("sev2 Login errors")
    assert h.emu.channel(channel).name == "incident-20261122-030000-login-errors"


async def test_rate_limits_and_server_errors_never_lose_or_double_a_post(harness: Harness) -> None:
    h = harness
    h.emu.inject("chat.postMessage", status=429, retry_after=1, times=2)
    h.emu.inject("conversations.create", status=503, times=1)
    h.emu.inject("pins.add", status=429, retry_after=1, times=1)
    await h.command(h.alice, h.general, "declare sev1 Everything is on fire")
    assert not h.emu.calls_to("chat.postMessage"), "the 503 puts the declaration off, it does not drop it"
    await h.advance(seconds=5)  # past the backoff: the declaration is carried out
    [channel] = [
        c.response["channel"]["id"] for c in h.emu.calls_to("conversations.create") if c.response["ok"]
    ]
    attempts = h.emu.calls_to("chat.postMessage")
    assert [c.http_status for c in attempts[:2]] == [429, 429]
    landed = [m for m in h.emu.messages(channel) if m.get("bot_id")]
    assert len(landed) == 1
    assert len(_posts(h, h.announce)) == 1
    assert len(h.emu.pins(channel) if hasattr(h.emu, "pins") else h.emu.calls_to("pins.add")[1:]) == 1
    assert len([c for c in h.emu.calls_to("conversations.create") if c.http_status == 200]) == 1


async def test_announce_channel_by_name_is_joined_when_needed(harness: Harness) -> None:
    h = harness
    ops = h.emu.add_channel("ops-incidents", channel_id="C0OPS")
    h.policy = h.policy_for(announce_channel="#ops-incidents")
    await h.restart()
    await h.declare("sev3 Queue backlog")
    assert [c.params["channel"] for c in h.emu.calls_to("conversations.join")] == [ops]
    assert len(_posts(h, ops)) == 1


async def test_healthz(harness: Harness) -> None:
    async with h_session() as session, session.get(harness.url + "/healthz") as resp:
        assert resp.status == 200


def h_session():  # type: ignore[no-untyped-def]
    import aiohttp

    return aiohttp.ClientSession()


async def test_declare_form_validates_inside_the_modal(harness: Harness) -> None:
    h = harness
    await h.command(h.alice, h.general, "declare")
    [opened] = h.emu.calls_to("views.open")
    view_id = opened.response["view"]["id"]
    # Slack's client refuses an empty required input, but whitespace gets through to the bot.
    bad = await h.driver.submit_view(
        h.alice, view_id, {"title": {"title_input": "  "}, "severity": {"severity_select": "sev1"}}
    )
    assert bad.json["response_action"] == "errors"
    assert set(bad.json["errors"]) == {"title"}
    assert h.emu.calls_to("conversations.create") == []

    ok = await h.driver.submit_view(
        h.alice,
        view_id,
        {
            "title": {"title_input": "Mobile app cannot log in"},
            "severity": {"severity_select": "sev1"},
            "impact": {"impact_input": "All iOS users since 02:50"},
        },
    )
    assert ok.status == 200
    await h.idle()
    [incident] = await _incidents(h)
    assert (incident.severity, incident.title, incident.impact) == (
        "SEV1",
        "Mobile app cannot log in",
        "All iOS users since 02:50",
    )
    assert "All iOS users since 02:50" in _all_text(_posts(h, incident.channel_id)[0])


async def test_signatures_are_enforced(harness: Harness) -> None:
    import time
    from urllib.parse import urlencode

    import aiohttp

    h = harness
    body = urlencode(
        {
            "command": "/incident",
            "text": "declare sev1 Forged",
            "user_id": h.alice,
            "channel_id": h.general,
            "team_id": "T0EMU",
            "response_url": h.emu.url + "respond/x",
            "trigger_id": "1.2.3",
        }
    ).encode()
    now = int(time.time())
    variants = {
        "unsigned": {},
        "wrong secret": dict(h.driver.sign(body, now), **{"X-Slack-Signature": "v0=" + "0" * 64}),
        "stale": h.driver.sign(body, now - 6 * 60),
    }
    async with aiohttp.ClientSession() as session:
        for label, headers in variants.items():
            headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            async with session.post(h.driver.app_url, data=body, headers=headers) as resp:
                assert resp.status == 401, label
        await h.idle()
    assert h.emu.calls_to("conversations.create") == []
    assert await _incidents(h) == []
    async with h.bot.shared.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Incident))).scalar_one() == 0


def test_help_and_usage_hints_come_from_the_subcommand_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every feature attached as the app attaches them: help lists each subcommand (help last), and
    every usage hint a handler raises names a subcommand whose syntax is known."""
    import inspect
    from pathlib import Path
    from unittest.mock import MagicMock

    import handlers
    from handlers.subcommands import Subcommands
    from runtime.ops import Ops

    made: list[Subcommands] = []
    monkeypatch.setattr(handlers, "Subcommands", lambda: made.append(Subcommands()) or made[-1])
    given = {name: MagicMock() for name in inspect.signature(handlers.register_all).parameters}
    handlers.register_all(**{**given, "ops": Ops()})
    subs = made[0]
    forms = subs.forms()
    names = {entry.name for entry in subs.by_name.values()}
    listed = [form.split()[0] for form, _ in forms]
    assert set(listed) == names and listed[-1] == "help"
    assert all(what for _, what in forms), "every form has one line of help"
    source = "".join(p.read_text() for p in Path(handlers.__file__).parent.glob("*.py"))
    hinted = set(re.findall(r'UsageError\([^)]*?,\s*"([a-z]+)"\)', source, re.S))
    assert hinted and all(subs.syntax(name) for name in hinted), hinted - names
