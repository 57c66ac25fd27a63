"""Alertmanager webhook intake with real version-4 payloads."""

from __future__ import annotations

import copy
import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from config.errors import ConfigError
from config.policy_file import policy_from_dict
from slack_emulator.models import TEAM_ID
from storage.models import AlertGroup, InboxItem, Incident, TimelineEntry
from storage.repositories import IncidentRepo
from tests.harness import Harness, am_alert, am_notification

TOKEN = "am-secret-token"
# People on the escalation levels may resolve (the `[permissions]` default) and are paged by DM.
LEVELS = {
    "escalation": {
        "levels": [
            {"name": "L1", "title": "On-call engineer", "users": ["U0ONCALL"], "after": "0s"},
            {"name": "L2", "title": "Team lead", "users": ["U0LEAD"], "after": "30m"},
            {"name": "L3", "title": "Engineering manager", "users": ["U0EM"], "after": "1h"},
            {"name": "L4", "title": "CTO/VP", "users": ["U0CTO"], "after": "2h"},
        ]
    }
}
STILL_FIRING = "still firing after resolution"


@pytest.fixture
def policy_data() -> dict[str, Any]:
    return LEVELS


async def _post(h: Harness, body: Any, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session, session.post(
        h.url + "/webhooks/alertmanager", data=data, headers=headers
    ) as resp:  # fmt: skip
        text = await resp.text()
        return resp.status, json.loads(text) if text.startswith("{") else {"text": text}


def _channels(h: Harness) -> list[str]:
    """Channels the bot created, oldest first."""
    return [c.response["channel"]["id"] for c in h.emu.calls_to("conversations.create") if c.response["ok"]]


async def _delivered(h: Harness, body: Any) -> str:
    """POST, check it was stored, and let the worker carry it out; returns the answer's status."""
    status, answer = await _post(h, body)
    assert status == 200, answer
    await h.idle()
    return str(answer["status"])


async def _with_token(h: Harness) -> None:
    for user_id, name in (("U0ONCALL", "oncall"), ("U0LEAD", "lead"), ("U0EM", "em"), ("U0CTO", "cto")):
        if h.emu.state.users.get(user_id) is None:
            h.emu.add_user(name, user_id=user_id)
    h.token = TOKEN
    await h.restart()


def _pages(h: Harness) -> int:
    """Page DMs sent so far."""
    return len(
        [c for c in h.emu.calls_to("chat.postMessage") if "You are paged" in str(c.params.get("blocks"))]
    )


def _still_firing(h: Harness, channel: str) -> list[dict[str, Any]]:
    return [m for m in h.emu.messages(channel) if STILL_FIRING in m.get("text", "")]


async def _firing(h: Harness, *instances: str, value: str = "7.2%") -> str:
    """A firing notification of the group (a repeat when nothing else changed)."""
    return await _delivered(h, am_notification(*(am_alert(i, value=value) for i in instances)))


async def _resolve(h: Harness, channel: str) -> None:
    await h.command("U0ONCALL", channel, "resolve Scaled up")
    async with h.bot.shared.db.session() as s:
        inc = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert inc is not None and not inc.is_open, "the on-call engineer may resolve"


async def test_firing_declares_and_regroup_updates_and_redelivery_changes_nothing(harness: Harness) -> None:
    h = harness
    await _with_token(h)
    first = am_notification(am_alert("api-1"))
    assert await _delivered(h, first) == "accepted"
    [channel] = _channels(h)
    async with h.bot.shared.db.session() as s:
        inc = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert inc is not None
    assert (inc.severity, inc.title) == ("SEV1", "HighErrorRate: 5xx rate above 5% on checkout-api")
    initial = str(h.emu.messages(channel)[0]["blocks"])
    assert "instance=api-1" in initial and "<http://prometheus.example:9090/graph?g0.expr=" in initial
    assert "<!channel>" not in json.dumps(h.emu.messages(channel)), "alert text never broadcasts"
    assert any("SEV1 incident declared" in str(m) for m in h.emu.messages("C0INCIDENTS"))

    posts = len(h.emu.messages(channel))
    assert await _delivered(h, first) == "duplicate"  # redelivery
    assert len(h.emu.messages(channel)) == posts

    regroup = am_notification(am_alert("api-1"), am_alert("api-2"))
    assert await _delivered(h, regroup) == "accepted"
    [update] = h.emu.messages(channel)[posts:]
    assert "1 new alert(s) firing" in str(update["blocks"]) and "instance=api-2" in str(update["blocks"])

    resolved = am_notification(
        am_alert("api-1", "resolved"), am_alert("api-2", "resolved"), status="resolved"
    )
    assert await _delivered(h, resolved) == "accepted"
    assert "2 alert(s) resolved" in str(h.emu.messages(channel)[-1]["blocks"])
    async with h.bot.shared.db.session() as s:
        inc = await IncidentRepo(s, TEAM_ID).by_channel(channel)
    assert inc is not None and inc.is_open, "resolving stays a human decision"
    assert len(h.emu.calls_to("conversations.create")) == 1
    posts = len(h.emu.messages(channel))
    assert await _delivered(h, resolved) == "duplicate"
    assert len(h.emu.messages(channel)) == posts


async def test_after_the_incident_is_resolved_a_new_firing_declares_again_only_after_the_window(
    harness: Harness,
) -> None:
    h = harness
    await _with_token(h)
    repeat = am_notification(am_alert("api-1"))  # Alertmanager repeats a static group byte for byte
    await _delivered(h, repeat)
    [first] = _channels(h)
    await _resolve(h, first)
    await h.advance(minutes=30)
    assert await _delivered(h, repeat) == "accepted", "a repeat, not a duplicate"
    await h.advance(minutes=29)
    await _delivered(h, am_notification(am_alert("api-1"), am_alert("api-2", fingerprint="fpnew")))
    assert _channels(h) == [first], "within reopen_window (1h): no new incident"
    assert len(_still_firing(h, first)) == 2
    await h.advance(minutes=2)
    await _delivered(h, repeat)
    assert len(_channels(h)) == 2 and _channels(h)[1] != first


async def test_a_repeat_within_the_reopen_window_says_still_firing_once_and_pages_no_one(
    harness: Harness,
) -> None:
    h = harness
    await _with_token(h)
    await _firing(h, "api-1")
    await h.tick()
    [channel] = _channels(h)
    assert _pages(h) == 1
    await _resolve(h, channel)
    posts = len(h.emu.messages(channel))

    await h.advance(minutes=5)
    assert await _firing(h, "api-1", value="7.9%") == "accepted"  # Alertmanager's repeat_interval
    assert _channels(h) == [channel], "no new incident within the window"
    [said] = h.emu.messages(channel)[posts:]
    assert STILL_FIRING in said["text"] and "instance=api-1" in str(said["blocks"])
    assert "<!channel>" not in json.dumps(said), "alert text stays escaped"
    _, entries = await h.bot.ctx.timeline.entries(channel)
    assert [e.text for e in entries if STILL_FIRING in e.text] == [
        "Alertmanager: still firing after resolution"
    ]

    await h.advance(minutes=5)
    await _firing(h, "api-1", value="8.1%")
    await _firing(h, "api-1", value="8.3%")
    assert len(_still_firing(h, channel)) == 1, "a repeat of the same alerts says nothing again"
    await _firing(h, "api-1", "api-2")
    assert len(_still_firing(h, channel)) == 2, "the set of firing alerts changed: said again"
    assert "instance=api-2" in str(_still_firing(h, channel)[-1]["blocks"])
    await h.advance(minutes=40)
    assert _pages(h) == 1 and _channels(h) == [channel], "nobody paged, no channel made"
    async with h.bot.shared.db.session() as s:
        incidents = (await s.execute(select(func.count()).select_from(Incident))).scalar_one()
    assert incidents == 1

    await h.advance(minutes=15)  # 1h05 after the resolution
    await _firing(h, "api-1", "api-2", value="9%")
    await h.tick()
    assert len(_channels(h)) == 2 and _pages(h) == 2, "after the window: a new incident, paged as usual"
    assert len(_still_firing(h, channel)) == 2


async def test_flapping_around_a_resolution_declares_at_most_one_incident_per_window(
    harness: Harness,
) -> None:
    h = harness
    await _with_token(h)
    resolved = am_notification(am_alert("api-1", "resolved"), status="resolved")

    async def flap(rounds: int) -> None:
        for n in range(rounds):
            await _firing(h, "api-1", value=f"{n}.5%")
            await h.advance(minutes=4)
            resolved["alerts"][0]["annotations"]["description"] = f"back to {n}%"
            await _delivered(h, resolved)
            await h.advance(minutes=4)

    await flap(2)  # flapping while the incident is open updates it
    [first] = _channels(h)
    await _resolve(h, first)
    posts = len(h.emu.messages(first))
    await flap(7)  # 56 minutes of flapping after a human resolved it
    assert _channels(h) == [first]
    [said] = h.emu.messages(first)[posts:]
    assert STILL_FIRING in said["text"], "once: the resolved ones and the same firing set say nothing"
    await h.advance(minutes=5)
    await flap(8)  # past the window: one new incident, which the flapping then updates
    assert len(_channels(h)) == 2
    second = _channels(h)[1]
    assert any("1 new alert(s) firing" in str(m.get("blocks")) for m in h.emu.messages(second))
    await _resolve(h, second)
    await flap(7)
    assert len(_channels(h)) == 2, "still one incident per window"


async def test_reopen_window_is_a_duration_with_a_default_of_one_hour() -> None:
    assert policy_from_dict({}).alertmanager.reopen_window.total_seconds() == 3600
    assert (
        policy_from_dict({"alertmanager": {"reopen_window": "30m"}}).alertmanager.reopen_window.seconds
        == 1800
    )
    with pytest.raises(ConfigError, match=r"alertmanager\.reopen_window"):
        policy_from_dict({"alertmanager": {"reopen_window": "soon"}})


async def test_severity_mapping_and_resolved_only_notifications(harness: Harness) -> None:
    h = harness
    await _with_token(h)
    warn = am_notification(am_alert("db-1"))
    warn["groupKey"] = "warn-group"
    warn["commonLabels"]["severity"] = "warning"
    for a in warn["alerts"]:
        a["labels"]["severity"] = "warning"
    await _delivered(h, warn)
    async with h.bot.shared.db.session() as s:
        inc = await IncidentRepo(s, TEAM_ID).by_channel(_channels(h)[0])
    assert inc is not None and inc.severity == "SEV3"
    stale = am_notification(am_alert("x", "resolved"), status="resolved")
    stale["groupKey"] = "never-seen"
    assert await _delivered(h, stale) == "accepted"
    assert len(_channels(h)) == 1, "nothing firing and no incident: ignored"


async def test_malformed_payloads_get_400_with_the_reason(harness: Harness) -> None:
    h = harness
    await _with_token(h)
    good = am_notification(am_alert("api-1"))
    cases: list[tuple[Any, str]] = [(b"not json", "not JSON"), (b"[]", "JSON object")]
    for key, value, reason in [
        ("version", "3", "version"),
        ("groupKey", "", "groupKey"),
        ("status", "maybe", "status"),
        ("alerts", [], "alerts"),
    ]:
        bad = copy.deepcopy(good)
        bad[key] = value
        cases.append((bad, reason))
    no_labels = copy.deepcopy(good)
    no_labels["alerts"][0]["labels"] = {}
    cases.append((no_labels, "alerts[0].labels"))
    for body, reason in cases:
        status, answer = await _post(h, body)
        assert status == 400 and reason in answer["error"], (body, answer)
    assert h.emu.calls_to("conversations.create") == []


async def test_nul_bytes_and_invalid_unicode_anywhere_get_400_and_create_nothing(harness: Harness) -> None:
    h = harness
    await _with_token(h)
    good = json.dumps(am_notification(am_alert("api-1"))).encode()
    annotation = good.replace(b"look: ", b"look\\u0000: ")
    label_key = good.replace(b'"job": "api"}, "annot', b'"jo\\u0000b": "api"}, "annot')
    surrogate = good.replace(b"5xx rate", b"5xx \\ud800rate", 1)
    receiver = good.replace(b'"receiver": "incident-bot"', b'"receiver": "a\\u0000"')
    unknown_field = good.replace(b'"version": "4"', b'"x": [{"y": "\\udfff"}], "version": "4"')
    latin1 = good.replace(b"look: ", "look é: ".encode("latin-1"))
    utf16 = json.dumps(am_notification(am_alert("api-1"))).encode("utf-16")
    cases = [
        (annotation, "alerts[0].annotations.description contains a NUL byte"),
        (label_key, 'alerts[0].labels: a key ("jo\\u0000b") contains a NUL byte'),
        (surrogate, "commonAnnotations.summary contains invalid Unicode"),
        (receiver, "receiver contains a NUL byte"),
        (unknown_field, "x[0].y contains invalid Unicode"),
        (latin1, "body is not valid UTF-8"),
        (utf16, "body is not valid UTF-8"),
    ]
    assert all(body != good for body, _ in cases)
    calls = len(h.emu.calls)
    for body, reason in cases:
        status, answer = await _post(h, body)
        assert (status, reason in answer.get("error", "")) == (400, True), (body[:80], status, answer)
    await h.idle()
    assert len(h.emu.calls) == calls, "not one Slack call"
    async with h.bot.shared.db.session() as s:
        for table in (InboxItem, Incident, AlertGroup, TimelineEntry):
            assert (await s.execute(select(func.count()).select_from(table))).scalar_one() == 0, table


async def test_token_is_required_and_the_endpoint_is_off_without_one(harness: Harness) -> None:
    h = harness
    status, _ = await _post(h, am_notification(am_alert("api-1")))
    assert status == 404, "no ALERTMANAGER_TOKEN: the endpoint does not exist"
    await _with_token(h)
    assert (await _post(h, am_notification(am_alert("api-1")), token=None))[0] == 401
    assert (await _post(h, am_notification(am_alert("api-1")), token="wrong"))[0] == 401
    assert h.emu.calls_to("conversations.create") == []


async def test_the_same_notification_from_two_alertmanagers_at_once_declares_once(harness: Harness) -> None:
    import asyncio

    h = harness
    await _with_token(h)
    body = am_notification(am_alert("api-1"))
    answers = await asyncio.gather(*(_post(h, body) for _ in range(3)))
    assert sorted(a[1]["status"] for a in answers) == ["accepted", "duplicate", "duplicate"]
    assert {a[0] for a in answers} == {200}
    await h.idle()
    assert len(h.emu.calls_to("conversations.create")) == 1


async def test_a_notification_given_up_is_taken_up_again_when_alertmanager_repeats_it(
    harness: Harness,
) -> None:
    h = harness
    await _with_token(h)
    h.emu.inject("conversations.create", status=503, seconds=2 * 3600)
    body = am_notification(am_alert("api-1"))
    assert await _delivered(h, body) == "accepted"
    for _ in range(40):  # retried for an hour, then given up: said in the announce channel
        await h.advance(minutes=2)
    notices = [m for m in h.emu.messages("C0INCIDENTS") if "Alertmanager notification" in m.get("text", "")]
    assert len(notices) == 1 and _channels(h) == []
    for _ in range(31):  # the outage ends
        await h.advance(minutes=2)
    assert await _delivered(h, body) == "accepted", "Alertmanager's repeat takes the failed one up again"
    assert len(_channels(h)) == 1
