"""The Alertmanager and GitHub webhooks as features: served from the routes they register, their
requests stored under the same keys as before, decoded unchanged, and rows stored before the upgrade
(with the old payloads) still decoded and carried out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from config.policy_file import policy_from_dict
from domain.workspace import Team
from handlers import alerts, trackers
from handlers.subcommands import Subcommands
from handlers.wiring import Inbound, Wiring
from runtime.clock import FakeClock
from runtime.ops import Job, Ops
from runtime.outbox import signature
from runtime.tokens import SingleToken
from services.tracker_events import FiledFollowup
from storage.inbox import NewItem
from tests.harness import GROUP_KEY, am_alert, am_notification

TEAM = Team("T0TEAM", "E0ORG")
NOW = datetime(2026, 11, 22, 3, 0, 30, tzinfo=UTC)
AM_TOKEN, GH_SECRET = "am-token", "gh-secret"


class Inbox:
    """Keeps what it is given; the same idempotency key twice is a duplicate."""

    def __init__(self) -> None:
        self.items: list[NewItem] = []

    async def accept(self, item: NewItem) -> bool:
        new = item.idem_key not in {i.idem_key for i in self.items}
        self.items.append(item)
        return new


class Trackers:
    """Issue 42 of acme/api is follow-up 12, filed in TEAM for an incident in `channel`."""

    def __init__(self, channel: str | None) -> None:
        self.channel = channel

    async def github_followup(self, verified: list[Any], number: int) -> FiledFollowup | None:
        return FiledFollowup(12, TEAM, self.channel) if number == 42 else None


def _wiring(services: Any = None, channel: str | None = "C0INC") -> tuple[Wiring, Inbox]:
    single = MagicMock(spec=SingleToken)
    single.check = AsyncMock(return_value=TEAM)
    workspaces = SimpleNamespace(tokens=single, get=AsyncMock(return_value=services))
    settings = SimpleNamespace(alertmanager_token=SecretStr(AM_TOKEN), oauth=False)
    github = {"repo": "acme/api", "webhook_secret_env": "GH_SECRET"}
    policy = policy_from_dict({"trackers": {"github": github}})
    inbox = Inbox()
    inbound = Inbound(
        settings,  # type: ignore[arg-type]
        policy,
        FakeClock(NOW),
        inbox,  # type: ignore[arg-type]
        Trackers(channel),  # type: ignore[arg-type]
        {"GH_SECRET": GH_SECRET},
    )
    wiring = Wiring(Ops(), Subcommands(), workspaces, inbound)  # type: ignore[arg-type]
    alerts.register(MagicMock(), wiring)
    trackers.register(MagicMock(), wiring)
    return wiring, inbox


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    """Serve a wiring's webhooks as the runtime mounts them: every path registered, POST."""
    clients: list[TestClient] = []

    async def start(wiring: Wiring) -> TestClient:
        app = web.Application()
        for path, handler in wiring.webhooks.items():
            app.router.add_post(path, handler)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


def _round_trip(ops: Ops, item: NewItem) -> None:
    """The stored request decodes to one that is stored again exactly as it was."""
    assert ops.item(ops.decode(item.op, item.payload), TEAM) == item


def test_the_features_register_their_webhook_paths_once() -> None:
    wiring, _ = _wiring()
    assert list(wiring.webhooks) == [
        "/webhooks/alertmanager",
        "/webhooks/alertmanager/{team}",
        "/webhooks/github",
    ]
    with pytest.raises(ValueError, match="registered twice"):
        wiring.webhook("/webhooks/github", AsyncMock())


async def test_an_alert_is_kept_under_its_group_and_minute_as_before(serve: Any) -> None:
    received: list[Any] = []
    intake = SimpleNamespace(receive=AsyncMock(side_effect=lambda steps, n: received.append(n) or "declared"))
    wiring, inbox = _wiring(SimpleNamespace(alerts=intake))
    client = await serve(wiring)
    body = json.dumps(am_notification(am_alert("api-1"))).encode()
    for path in ("/webhooks/alertmanager", f"/webhooks/alertmanager/{TEAM.team_id}"):
        resp = await client.post(path, data=body, headers={"Authorization": f"Bearer {AM_TOKEN}"})
        assert resp.status == 200
    assert [i.op for i in inbox.items] == ["alert", "alert"]
    item = inbox.items[0]
    assert item == inbox.items[1], "the same notification within the minute: the same request"
    # The keys the webhook made before it was a feature, byte for byte.
    group = hashlib.sha256(f"{TEAM.team_id}\n{GROUP_KEY}".encode()).hexdigest()
    content = hashlib.sha256(GROUP_KEY.encode() + b"\n" + body).hexdigest()
    minute = int(NOW.timestamp()) // 60
    assert (item.idem_key, item.order_key) == (f"am:{content}:{minute}", f"alert:{group}")
    assert (item.team_id, item.enterprise_id) == (TEAM.team_id, TEAM.enterprise_id)
    assert json.loads(item.payload)["body"] == body.decode()
    _round_trip(wiring.ops, item)

    # A row kept before the upgrade: {"body": …} only; still decoded and carried out.
    old = wiring.ops.decode("alert", json.dumps({"body": body.decode()}))
    assert isinstance(old, alerts.Alert) and old.body == body.decode()
    await wiring.ops.one["alert"](Job(1, item.order_key, old, MagicMock(), TEAM))
    assert [n.group_key for n in received] == [GROUP_KEY]
    assert old.what() == "carry out an Alertmanager notification" and old.channel_id() is None


def _signed(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": signature(GH_SECRET, body), "X-GitHub-Event": "issues"}
    return body, headers


def _issue(action: str) -> dict[str, Any]:
    issue = {"number": 42, "updated_at": "2026-11-22T02:59:00Z"}
    return {
        "action": action,
        "issue": issue,
        "repository": {"full_name": "acme/api"},
        "sender": {"login": "octo"},
    }


@pytest.mark.parametrize(("channel", "order"), [("C0INC", "ch:C0INC"), (None, "followup:12")])
async def test_a_tracker_issue_is_kept_under_its_body_and_incident_as_before(
    serve: Any, channel: str | None, order: str
) -> None:
    followups = SimpleNamespace(set_done=AsyncMock(return_value=True))
    wiring, inbox = _wiring(SimpleNamespace(followups=followups), channel)
    client = await serve(wiring)
    body, headers = _signed(_issue("closed"))
    resp = await client.post("/webhooks/github", data=body, headers=headers)
    assert (resp.status, await resp.json()) == (200, {"status": "accepted"})
    [item] = inbox.items
    assert item.op == "tracker_issue"
    assert (item.idem_key, item.order_key) == ("gh:" + hashlib.sha256(body).hexdigest(), order)
    assert (item.team_id, item.enterprise_id) == (TEAM.team_id, TEAM.enterprise_id)
    _round_trip(wiring.ops, item)

    # A row kept before the upgrade, with the old payload's keys only.
    old = {"followup_id": 12, "done": True, "who": "octo", "channel": channel}
    request = wiring.ops.decode("tracker_issue", json.dumps(old))
    assert request == wiring.ops.decode(item.op, item.payload).model_copy(update={"body_key": None})
    steps = MagicMock()
    await wiring.ops.one["tracker_issue"](Job(1, order, request, steps, TEAM))
    followups.set_done.assert_awaited_once_with(steps, 12, True, "octo")
    assert request.channel_id() == channel and request.asker() is None


async def test_a_github_event_for_no_followup_is_ignored_and_kept_nowhere(serve: Any) -> None:
    wiring, inbox = _wiring()
    client = await serve(wiring)
    other = {**_issue("reopened"), "issue": {"number": 7}}
    body, headers = _signed(other)
    resp = await client.post("/webhooks/github", data=body, headers=headers)
    assert (resp.status, await resp.json()) == (200, {"status": "ignored"})
    assert inbox.items == []
