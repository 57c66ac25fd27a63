"""Alertmanager webhook intake with real version-4 payloads."""

from __future__ import annotations

import copy
import json
from typing import Any

import aiohttp

from storage.repositories import IncidentRepo
from tests.harness import Harness

TOKEN = "am-secret-token"
GROUP_KEY = '{}/{severity="critical"}:{alertname="HighErrorRate"}'


def _alert(instance: str, status: str = "firing", fingerprint: str | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "instance": instance, "job": "api"},
        "annotations": {"summary": "5xx rate above 5% on checkout-api", "description": "<!channel> look"},
        "startsAt": "2026-11-22T02:58:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-22T03:20:00.000Z",
        "generatorURL": f"http://prometheus.example:9090/graph?g0.expr=rate%7Binstance%3D%22{instance}%22%7D",
        "fingerprint": fingerprint or f"fp{instance.replace('-', '')}",
    }


def notification(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    """A webhook body as Alertmanager 0.27 sends it."""
    return {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "incident-bot",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "severity": "critical", "job": "api"},
        "commonAnnotations": {"summary": "5xx rate above 5% on checkout-api"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": list(alerts),
    }


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
    h.token = TOKEN
    await h.restart()


async def test_firing_declares_and_regroup_updates_and_redelivery_changes_nothing(harness: Harness) -> None:
    h = harness
    await _with_token(h)
    first = notification(_alert("api-1"))
    assert await _delivered(h, first) == "accepted"
    [channel] = _channels(h)
    async with h.bot.ctx.db.session() as s:
        inc = await IncidentRepo(s).by_channel(channel)
    assert inc is not None
    assert (inc.severity, inc.title) == ("SEV1", "HighErrorRate: 5xx rate above 5% on checkout-api")
    initial = str(h.emu.messages(channel)[0]["blocks"])
    assert "instance=api-1" in initial and "<http://prometheus.example:9090/graph?g0.expr=" in initial
    assert "<!channel>" not in json.dumps(h.emu.messages(channel)), "alert text never broadcasts"
    assert any("SEV1 incident declared" in str(m) for m in h.emu.messages("C0INCIDENTS"))

    posts = len(h.emu.messages(channel))
    assert await _delivered(h, first) == "duplicate"  # redelivery
    assert len(h.emu.messages(channel)) == posts

    regroup = notification(_alert("api-1"), _alert("api-2"))
    assert await _delivered(h, regroup) == "accepted"
    [update] = h.emu.messages(channel)[posts:]
    assert "1 new alert(s) firing" in str(update["blocks"]) and "instance=api-2" in str(update["blocks"])

    resolved = notification(_alert("api-1", "resolved"), _alert("api-2", "resolved"), status="resolved")
    assert await _delivered(h, resolved) == "accepted"
    assert "2 alert(s) resolved" in str(h.emu.messages(channel)[-1]["blocks"])
    async with h.bot.ctx.db.session() as s:
        inc = await IncidentRepo(s).by_channel(channel)
    assert inc is not None and inc.is_open, "resolving stays a human decision"
    assert len(h.emu.calls_to("conversations.create")) == 1
    posts = len(h.emu.messages(channel))
    assert await _delivered(h, resolved) == "duplicate"
    assert len(h.emu.messages(channel)) == posts


async def test_after_the_incident_is_resolved_a_new_firing_declares_again(harness: Harness) -> None:
    h = harness
    await _with_token(h)
    await _delivered(h, notification(_alert("api-1")))
    [first] = _channels(h)
    await h.command(h.alice, first, "resolve Scaled up")
    await _delivered(h, notification(_alert("api-1", fingerprint="fpnew")))
    assert len(_channels(h)) == 2 and _channels(h)[1] != first


async def test_severity_mapping_and_resolved_only_notifications(harness: Harness) -> None:
    h = harness
    await _with_token(h)
    warn = notification(_alert("db-1"))
    warn["groupKey"] = "warn-group"
    warn["commonLabels"]["severity"] = "warning"
    for a in warn["alerts"]:
        a["labels"]["severity"] = "warning"
    await _delivered(h, warn)
    async with h.bot.ctx.db.session() as s:
        inc = await IncidentRepo(s).by_channel(_channels(h)[0])
    assert inc is not None and inc.severity == "SEV3"
    stale = notification(_alert("x", "resolved"), status="resolved")
    stale["groupKey"] = "never-seen"
    assert await _delivered(h, stale) == "accepted"
    assert len(_channels(h)) == 1, "nothing firing and no incident: ignored"


async def test_malformed_payloads_get_400_with_the_reason(harness: Harness) -> None:
    h = harness
    await _with_token(h)
    good = notification(_alert("api-1"))
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


async def test_token_is_required_and_the_endpoint_is_off_without_one(harness: Harness) -> None:
    h = harness
    status, _ = await _post(h, notification(_alert("api-1")))
    assert status == 404, "no ALERTMANAGER_TOKEN: the endpoint does not exist"
    await _with_token(h)
    assert (await _post(h, notification(_alert("api-1")), token=None))[0] == 401
    assert (await _post(h, notification(_alert("api-1")), token="wrong"))[0] == 401
    assert h.emu.calls_to("conversations.create") == []


async def test_the_same_notification_from_two_alertmanagers_at_once_declares_once(harness: Harness) -> None:
    import asyncio

    h = harness
    await _with_token(h)
    body = notification(_alert("api-1"))
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
    body = notification(_alert("api-1"))
    assert await _delivered(h, body) == "accepted"
    for _ in range(40):  # retried for an hour, then given up: said in the announce channel
        await h.advance(minutes=2)
    notices = [m for m in h.emu.messages("C0INCIDENTS") if "Alertmanager notification" in m.get("text", "")]
    assert len(notices) == 1 and _channels(h) == []
    for _ in range(31):  # the outage ends
        await h.advance(minutes=2)
    assert await _delivered(h, body) == "accepted", "Alertmanager's repeat takes the failed one up again"
    assert len(_channels(h)) == 1
