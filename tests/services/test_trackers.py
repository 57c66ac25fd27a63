"""Follow-ups filed as GitHub and Jira issues through the outbox, and GitHub's webhook closing them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from config.policy_file import policy_from_dict
from runtime import trackers
from services.tracker_events import github_trackers
from storage.models import Followup, InboxItem, Incident, OutboxMessage
from tests.harness import Harness
from tests.receivers import Receiver

GITHUB = {"repo": "acme/api", "api_url": "http://github.test/api/v3/", "token_env": "GH_TOKEN"}
ISSUE_URL = "https://github.test/acme/api/issues/42"
HOOK_SECRET = "gh-hook-secret"
DELIVERY = {"max_attempts": 5, "backoff": "10s", "max_backoff": "1m", "timeout": "5s"}
FOLLOWUP = "followup <@U0BOB> +3d Add a circuit breaker"
JIRA = {
    "base_url": "https://acme.atlassian.test",
    "project": "OPS",
    "email_env": "J_EMAIL",
    "token_env": "J_TOKEN",
}


def _incident(private: bool = False) -> Incident:
    return Incident(
        id=7, team_id="T0TEAM", number=3, private=private, channel_id="C0INC",
        channel_name="incident-3-checkout", title="Checkout is down", severity="SEV2", status="resolved",
        declared_at=datetime(2026, 11, 22, tzinfo=UTC),
    )  # fmt: skip


def _followup(text: str = "Add a circuit breaker") -> Followup:
    return Followup(
        id=12, team_id="T0TEAM", incident_id=7, owner_id="U0BOB", text=text, due_on=date(2026, 11, 25)
    )


def test_the_issue_carries_the_followup_its_incident_owner_and_due_date() -> None:
    policy = policy_from_dict({"trackers": {"github": GITHUB, "jira": JIRA}})
    [(gh_target, gh_kind, gh_body), (j_target, j_kind, j_body)] = trackers.issue_bodies(
        policy, _incident(), _followup(), "bob (Slack U0BOB)"
    )
    assert (gh_target, gh_kind, j_target, j_kind) == ("github:12", "github.issue", "jira:12", "jira.issue")
    issue = json.loads(gh_body)
    assert issue["title"] == "Add a circuit breaker" and issue["labels"] == ["incident", "INC-3"]
    assert issue["body"].splitlines() == [
        "Add a circuit breaker",
        "",
        "Follow-up of INC-3: Checkout is down (#incident-3-checkout)",
        "Owner: bob (Slack U0BOB)",
        "Due: 2026-11-25",
    ]
    fields = json.loads(j_body)["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "Add a circuit breaker" and fields["labels"] == ["incident", "INC-3"]
    doc = fields["description"]
    assert (doc["type"], doc["version"]) == ("doc", 1)
    texts = [p["content"][0]["text"] for p in doc["content"]]
    assert texts == [line for line in issue["body"].splitlines() if line]
    assert "GH_TOKEN" not in gh_body and "J_TOKEN" not in j_body


def test_a_private_incident_is_named_only_by_its_ref_and_long_text_is_shortened() -> None:
    policy = policy_from_dict({"trackers": {"github": GITHUB, "jira": JIRA}})
    long = "Rework the retry policy " * 20
    [(_, _, gh_body), (_, _, j_body)] = trackers.issue_bodies(policy, _incident(True), _followup(long), "bob")
    issue = json.loads(gh_body)
    assert len(issue["title"]) == 256 and issue["title"].endswith("…")
    assert len(json.loads(j_body)["fields"]["summary"]) == 255
    assert "Follow-up of INC-3\n" in issue["body"]
    assert "Checkout" not in gh_body + j_body and "incident-3-checkout" not in gh_body + j_body
    assert issue["body"].startswith(long.strip())


def test_no_tracker_configured_files_nothing() -> None:
    assert trackers.issue_bodies(policy_from_dict({}), _incident(), _followup(), "bob") == []


def test_requests_read_their_secrets_at_delivery_time() -> None:
    policy = policy_from_dict({"trackers": {"github": GITHUB, "jira": JIRA}})
    base = {"Content-Type": "application/json"}
    assert (
        trackers.issue_request(policy, "github", "{}", {}, base) == "environment variable GH_TOKEN is not set"
    )
    url, body, headers = trackers.issue_request(policy, "github", '{"a": 1}', {"GH_TOKEN": "ghp_x"}, base)  # type: ignore[misc]
    assert (url, body) == ("http://github.test/api/v3/repos/acme/api/issues", b'{"a": 1}')
    assert headers["Authorization"] == "Bearer ghp_x" and headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert (
        headers["Accept"] == "application/vnd.github+json" and headers["Content-Type"] == "application/json"
    )
    env = {"J_EMAIL": "ops@acme.test"}
    assert (
        trackers.issue_request(policy, "jira", "{}", env, base) == "environment variable J_TOKEN is not set"
    )
    url, _, headers = trackers.issue_request(policy, "jira", "{}", {**env, "J_TOKEN": "tok"}, base)  # type: ignore[misc]
    assert url == "https://acme.atlassian.test/rest/api/3/issue"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"ops@acme.test:tok").decode()
    gone = policy_from_dict({})
    assert trackers.issue_request(gone, "jira", "{}", env, base) == "Jira tracker no longer configured"


def test_the_issue_is_read_back_from_the_answer() -> None:
    policy = policy_from_dict({"trackers": {"github": GITHUB, "jira": JIRA}})
    answer = {"number": 42, "html_url": "https://github.test/acme/api/issues/42"}
    assert trackers.filed_issue(policy, "github", answer) == ("acme/api#42", answer["html_url"])
    assert trackers.filed_issue(policy, "jira", {"id": "10001", "key": "OPS-7"}) == (
        "OPS-7", "https://acme.atlassian.test/browse/OPS-7",
    )  # fmt: skip
    assert trackers.filed_issue(policy, "github", {"ok": True}) is None
    assert trackers.filed_issue(policy, "jira", []) is None


@pytest.fixture
async def github() -> AsyncIterator[Receiver]:
    """A stand-in for GitHub's REST API: every issue it is asked to create is #42."""
    r = await Receiver(status=201, answer={"number": 42, "html_url": ISSUE_URL, "state": "open"}).start()
    yield r
    await r.stop()


@pytest.fixture
async def jira() -> AsyncIterator[Receiver]:
    """A stand-in for Jira Cloud's REST API: every issue it is asked to create is OPS-7."""
    r = await Receiver(status=201, answer={"id": "10001", "key": "OPS-7", "self": "x"}).start()
    yield r
    await r.stop()


@pytest.fixture
def policy_data(github: Receiver, jira: Receiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("GH_TOKEN", "ghp-test-token")
    monkeypatch.setenv("GH_HOOK_SECRET", HOOK_SECRET)
    monkeypatch.setenv("J_EMAIL", "ops@acme.test")
    monkeypatch.setenv("J_TOKEN", "jira-test-token")
    tracker = {**GITHUB, "api_url": github.url, "webhook_secret_env": "GH_HOOK_SECRET"}
    return {"trackers": {"github": tracker}, "delivery": DELIVERY}


async def _deliver(h: Harness, times: int = 1) -> None:
    for _ in range(times):
        await h.bot.shared.outbox.deliver_due()
        h.clock.advance(timedelta(minutes=2))


async def _stored(h: Harness) -> Followup:
    async with h.bot.shared.db.session() as s:
        return (await s.execute(select(Followup))).scalar_one()


async def _filed(h: Harness) -> str:
    """An incident channel with one follow-up, filed as GitHub issue #42."""
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, FOLLOWUP)
    await _deliver(h)
    assert (await _stored(h)).tracker_key == "acme/api#42"
    return channel


def _issue_event(action: str, number: int = 42, repo: str = "acme/api") -> dict[str, Any]:
    return {
        "action": action,
        "issue": {
            "number": number,
            "html_url": ISSUE_URL,
            "state": "closed" if action == "closed" else "open",
        },
        "repository": {"full_name": repo},
        "sender": {"login": "octocat"},
    }


async def _hook(
    h: Harness, payload: dict[str, Any], event: str = "issues", secret: str | None = HOOK_SECRET
) -> tuple[int, dict[str, Any]]:
    return await _post(h, json.dumps(payload).encode(), event, secret, str(uuid.uuid4()))


async def _post(
    h: Harness,
    body: bytes,
    event: str = "issues",
    secret: str | None = HOOK_SECRET,
    delivery: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST `body` to the GitHub webhook, signed with `secret` (unsigned when None)."""
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    if secret is not None:
        headers["X-Hub-Signature-256"] = (
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        )
    async with aiohttp.ClientSession() as session, session.post(
        h.url + "/webhooks/github", data=body, headers=headers
    ) as resp:  # fmt: skip
        answer = await resp.json()
    await h.idle()
    return resp.status, answer


async def test_a_followup_is_filed_on_github_once_after_the_api_was_down(
    harness: Harness, github: Receiver
) -> None:
    h = harness
    github.status, github.retry_after = 503, "30"
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, FOLLOWUP)
    await _deliver(h, 2)
    assert [r.status for r in github.requests] == [503, 503]
    assert (await _stored(h)).tracker_key is None
    github.status = 201
    await _deliver(h, 4)
    [created] = github.delivered()
    assert len(github.requests) == 3, "retried until created, then never again"
    assert (created.method, created.path) == ("POST", "/repos/acme/api/issues")
    assert created.headers["Authorization"] == "Bearer ghp-test-token"
    assert created.headers["Accept"] == "application/vnd.github+json"
    assert created.headers["X-GitHub-Api-Version"] == "2022-11-28"
    issue = created.json
    assert issue["title"] == "Add a circuit breaker" and issue["labels"] == ["incident", "INC-1"]
    assert "Follow-up of INC-1: Checkout is down" in issue["body"] and "U0BOB" in issue["body"]
    assert {r.body for r in github.requests} == {created.body}, "every attempt sends the same issue"
    f = await _stored(h)
    assert (f.tracker, f.tracker_key, f.tracker_url) == ("github", "acme/api#42", ISSUE_URL)
    [posted] = [m for m in h.emu.messages(channel) if "Add a circuit breaker" in str(m.get("blocks"))]
    assert ISSUE_URL in str(posted["blocks"]) and "acme/api#42" in str(posted["blocks"])
    async with h.bot.shared.db.session() as s:
        rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "github.issue"))).scalars()
        assert [(r.target, r.state, r.attempts) for r in rows] == [(f"github:{f.id}", "delivered", 3)]
    assert "ghp-test-token" not in str(created.body)


async def test_a_followup_is_filed_in_jira_with_basic_auth(harness: Harness, jira: Receiver) -> None:
    h = harness
    h.policy = h.policy_for(trackers={"jira": {**JIRA, "base_url": jira.url + "/"}}, delivery=DELIVERY)
    await h.restart()
    channel = await h.declare("sev2 Checkout is down")
    await h.command(h.alice, channel, FOLLOWUP)
    await _deliver(h, 2)
    [created] = jira.requests
    assert (created.method, created.path) == ("POST", "/rest/api/3/issue")
    expected = base64.b64encode(b"ops@acme.test:jira-test-token").decode()
    assert created.headers["Authorization"] == f"Basic {expected}"
    fields = created.json["fields"]
    assert (fields["project"], fields["issuetype"], fields["summary"]) == (
        {"key": "OPS"}, {"name": "Task"}, "Add a circuit breaker",
    )  # fmt: skip
    assert fields["labels"] == ["incident", "INC-1"] and fields["description"]["type"] == "doc"
    f = await _stored(h)
    assert (f.tracker, f.tracker_key, f.tracker_url) == ("jira", "OPS-7", f"{jira.url}/browse/OPS-7")
    assert f"{jira.url}/browse/OPS-7" in str(h.emu.messages(channel))


async def test_a_missing_token_gives_up_without_sending(
    harness: Harness, github: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    monkeypatch.delenv("GH_TOKEN")
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, FOLLOWUP)
    await _deliver(h)
    assert github.requests == []
    async with h.bot.shared.db.session() as s:
        [row] = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "github.issue"))).scalars()
    assert (row.state, row.last_error) == ("failed", "environment variable GH_TOKEN is not set")


async def test_a_failure_to_link_the_issue_does_not_file_it_again(
    harness: Harness, github: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness

    async def broken(*_args: object) -> None:
        raise RuntimeError("Slack is away")

    h.bot.shared.outbox.on_filed = broken
    channel = await h.declare("sev3 Search is slow")
    await h.command(h.alice, channel, FOLLOWUP)
    with caplog.at_level(logging.ERROR, logger="runtime.outbox"):
        await _deliver(h, 3)
    assert len(github.requests) == 1
    assert "could not be linked" in caplog.text and "acme/api#42" in caplog.text


async def test_closing_and_reopening_the_issue_on_github(harness: Harness, github: Receiver) -> None:
    h = harness
    channel = await _filed(h)
    status, _ = await _hook(h, _issue_event("closed"), secret="wrong-secret")
    assert (status, (await _stored(h)).state) == (401, "open")
    status, _ = await _hook(h, _issue_event("closed"), secret=None)
    assert status == 401
    async with h.bot.shared.db.session() as s:
        stored = (await s.execute(select(InboxItem).where(InboxItem.op == "tracker_issue"))).scalars()
        assert list(stored) == [], "nothing is stored before the signature is checked"

    ping = {"zen": "Keep it simple.", "hook_id": 1, "repository": {"full_name": "acme/api"}}
    assert (await _hook(h, ping, "ping"))[0] == 200
    assert (await _hook(h, _issue_event("closed", repo="acme/other")))[0] == 404
    assert await _hook(h, _issue_event("closed", number=41)) == (200, {"status": "ignored"})
    assert await _hook(h, _issue_event("edited")) == (200, {"status": "ignored"})
    assert (await _stored(h)).state == "open"

    assert await _hook(h, _issue_event("closed")) == (200, {"status": "accepted"})
    done = await _stored(h)
    assert (done.state, done.done_by) == ("done", "octocat")
    assert "done by octocat" in str(h.emu.messages(channel))
    assert await _hook(h, _issue_event("reopened")) == (200, {"status": "accepted"})
    assert (await _stored(h)).state == "open"


async def test_a_redelivered_github_event_is_a_duplicate(harness: Harness, github: Receiver) -> None:
    h = harness
    await _filed(h)
    body = json.dumps(_issue_event("closed")).encode()
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    answers = []
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(h.url + "/webhooks/github", data=body, headers=headers) as resp:
                answers.append((resp.status, await resp.json()))
    await h.idle()
    assert answers == [(200, {"status": "accepted"}), (200, {"status": "duplicate"})]
    assert (await _stored(h)).state == "done"


async def _replay(h: Harness, body: bytes, delivery: str | None) -> tuple[int, dict[str, Any]]:
    """POST a body exactly as signed before, under a new (or no) X-GitHub-Delivery."""
    return await _post(h, body, delivery=delivery)


async def test_a_signed_body_sent_again_under_a_new_or_no_delivery_id_changes_nothing(
    harness: Harness, github: Receiver
) -> None:
    h = harness
    await _filed(h)
    # Real events carry the issue's updated_at: a later close, reopen, close differ in their bodies.
    at = h.clock.now()
    closed = {
        **_issue_event("closed"),
        "issue": {**_issue_event("closed")["issue"], "updated_at": f"{at:%Y-%m-%dT%H:%M:%SZ}"},
    }
    reopened = _issue_event("reopened")
    reopened["issue"]["updated_at"] = f"{at + timedelta(minutes=5):%Y-%m-%dT%H:%M:%SZ}"
    closed_body = json.dumps(closed).encode()
    assert await _replay(h, closed_body, "d-1") == (200, {"status": "accepted"})
    assert (await _stored(h)).state == "done"
    # The issue is reopened; whoever kept the signed close cannot flip the follow-up back to done.
    reopened_body = json.dumps(reopened).encode()
    assert await _replay(h, reopened_body, "d-2") == (200, {"status": "accepted"})
    assert (await _stored(h)).state == "open"
    for delivery in ("d-3", str(uuid.uuid4()), None, ""):
        assert await _replay(h, closed_body, delivery) == (200, {"status": "duplicate"}), delivery
        assert (await _stored(h)).state == "open"
    # A later real close is a new body, and is carried out.
    again = {
        **closed,
        "issue": {**closed["issue"], "updated_at": f"{at + timedelta(minutes=9):%Y-%m-%dT%H:%M:%SZ}"},
    }
    assert await _replay(h, json.dumps(again).encode(), None) == (200, {"status": "accepted"})
    assert (await _stored(h)).state == "done"
    # After the inbox has forgotten the body (a day), the event is too old to act on.
    h.clock.advance(timedelta(days=2))
    status, answer = await _replay(h, reopened_body, "d-9")
    assert (status, answer["status"]) == (200, "ignored") and "old" in answer["reason"]
    assert (await _stored(h)).state == "done"


def test_the_webhook_knows_the_repositories_of_every_workspace() -> None:
    policy = policy_from_dict(
        {
            "trackers": {"github": GITHUB},
            "workspaces": {"T0OTHER": {"trackers": {"github": {**GITHUB, "repo": "other/infra"}}}},
        }
    )
    assert sorted(gh.repo for gh in github_trackers(policy)) == ["acme/api", "other/infra"]
