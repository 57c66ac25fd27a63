"""Alertmanager's bearer token per workspace: with OAuth each workspace has its own
(`[workspaces."T…"] alertmanager_token_env`), one workspace's token cannot post another's alerts, and
the shared ALERTMANAGER_TOKEN is for the single-workspace mode only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from bot.cli import policy_secrets
from config.errors import ConfigError
from config.policy_file import policy_from_dict
from config.settings import Settings
from storage.models import InboxItem, Incident
from tests.bot.test_workspaces import ALPHA, BRAVO, Installed, _policy
from tests.harness import am_alert, am_notification

# slack_sdk sends oauth.v2.access's client credentials with aiohttp's BasicAuth, which aiohttp deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

ALPHA_TOKEN, BRAVO_TOKEN, SHARED = "alpha-am-token-1", "bravo-am-token-2", "shared-am-token-3"


@dataclass
class WithTokens(Installed):
    """Two installed workspaces, each with its own Alertmanager token, and a shared one set too."""

    async def _start_bot(self) -> None:
        data = _policy(self.people)
        data["workspaces"][ALPHA]["alertmanager_token_env"] = "AM_TOKEN_ALPHA"
        data["workspaces"][BRAVO]["alertmanager_token_env"] = "AM_TOKEN_BRAVO"
        self.policy = policy_from_dict(data)
        await super()._start_bot()

    def settings(self) -> Settings:
        return super().settings().model_copy(update={"alertmanager_token": SecretStr(SHARED)})


@pytest.fixture
async def installed(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WithTokens]:
    monkeypatch.setenv("AM_TOKEN_ALPHA", ALPHA_TOKEN)
    monkeypatch.setenv("AM_TOKEN_BRAVO", BRAVO_TOKEN)
    i = await WithTokens(database_url).start()
    try:
        yield i
    finally:
        await i.stop()


async def _post(i: Installed, path: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(
        i.url + path, data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {token}"}
    ) as resp:  # fmt: skip
        text = await resp.text()
    await i.bot.settle()
    return resp.status, json.loads(text) if text.startswith("{") else {"text": text}


async def _incidents(i: Installed) -> list[str]:
    async with i.bot.shared.db.session() as s:
        return [r.team_id for r in (await s.execute(select(Incident).order_by(Incident.id))).scalars()]


async def test_one_workspace_token_cannot_post_another_workspaces_alerts(installed: WithTokens) -> None:
    i = installed
    for team in (ALPHA, BRAVO):
        await i.install(team)
    firing = am_notification(am_alert("api-1"))
    # Alpha's token on Bravo's path, and the shared token on either path: refused, nothing stored.
    assert (await _post(i, f"/webhooks/alertmanager/{BRAVO}", ALPHA_TOKEN, firing))[0] == 401
    assert (await _post(i, f"/webhooks/alertmanager/{ALPHA}", BRAVO_TOKEN, firing))[0] == 401
    for path in (
        f"/webhooks/alertmanager/{ALPHA}",
        f"/webhooks/alertmanager/{BRAVO}",
        "/webhooks/alertmanager",
    ):
        assert (await _post(i, path, SHARED, firing))[0] == 401, path
    # A workspace with no token of its own has no endpoint.
    assert (await _post(i, "/webhooks/alertmanager/T0CHARLIE", ALPHA_TOKEN, firing))[0] == 404
    async with i.bot.shared.db.session() as s:
        assert (await s.execute(select(InboxItem).where(InboxItem.op == "alert"))).first() is None
    assert await _incidents(i) == []

    # Each token on its own path declares in its own workspace only.
    assert await _post(i, f"/webhooks/alertmanager/{BRAVO}", BRAVO_TOKEN, firing) == (
        200,
        {"status": "accepted"},
    )
    assert await _incidents(i) == [BRAVO]
    made = [c for c in i.emu.calls_for(BRAVO) if c.method == "conversations.create"]
    assert made and not [c for c in i.emu.calls_for(ALPHA) if c.method == "conversations.create"]
    # Without a team in the path, the token says which workspace it is.
    other = am_notification(am_alert("api-2"))
    assert await _post(i, "/webhooks/alertmanager", ALPHA_TOKEN, other) == (200, {"status": "accepted"})
    assert await _incidents(i) == [BRAVO, ALPHA]


def test_workspace_tokens_are_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = {team: {"alertmanager_token_env": f"AM_TOKEN_{team}"} for team in (ALPHA, BRAVO)}
    policy = policy_from_dict({"workspaces": tables})
    monkeypatch.setenv(f"AM_TOKEN_{ALPHA}", ALPHA_TOKEN)
    assert ALPHA_TOKEN in policy_secrets(policy), "kept out of the logs like every other secret"
    missing = policy.missing_secrets({"AM_TOKEN_T0ALPHA": "x"})
    assert (
        missing
        == f"workspaces.{BRAVO}.alertmanager_token_env: environment variable AM_TOKEN_{BRAVO} is not set"
    )
    assert policy.missing_secrets({"AM_TOKEN_T0ALPHA": "x", "AM_TOKEN_T0BRAVO": "y"}) is None
    with pytest.raises(ConfigError, match=r"alertmanager_token_env: .*each workspace"):
        policy_from_dict({"alertmanager_token_env": "AM_TOKEN"})
    with pytest.raises(ConfigError, match=f"workspaces.{BRAVO}.alertmanager_token_env: .*{ALPHA}"):
        policy_from_dict({"workspaces": {t: {"alertmanager_token_env": "AM_ONE"} for t in (ALPHA, BRAVO)}})
    with pytest.raises(ConfigError, match="not an environment variable name"):
        policy_from_dict({"workspaces": {ALPHA: {"alertmanager_token_env": "AM TOKEN"}}})


def _serve(tmp_path: Path, env: dict[str, str]) -> str:
    """`incident-bot serve --http` in OAuth mode, stopped by a start-up check: its one line."""
    config = tmp_path / "incident-bot.toml"
    config.write_text(
        f'[workspaces.{ALPHA}]\nalertmanager_token_env = "AM_TOKEN_ALPHA"\n'
        f'[workspaces.{BRAVO}]\nalertmanager_token_env = "AM_TOKEN_BRAVO"\n'
    )
    full = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ALERTMANAGER", "AM_", "INCIDENT_"))
    }
    full.update(
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="client-secret",
        SLACK_STATE_SECRET="state-secret",
        SLACK_SIGNING_SECRET="signing-secret",
        INCIDENT_BOT_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        INCIDENT_BOT_CONFIG=str(config),
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"],
        cwd=tmp_path, env=full, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_serve_refuses_a_missing_workspace_token_and_the_shared_token_with_oauth(tmp_path: Path) -> None:
    err = _serve(tmp_path, {"AM_TOKEN_ALPHA": ALPHA_TOKEN})
    assert f"workspaces.{BRAVO}.alertmanager_token_env: environment variable AM_TOKEN_BRAVO is not set" in err
    both = {"AM_TOKEN_ALPHA": ALPHA_TOKEN, "AM_TOKEN_BRAVO": BRAVO_TOKEN}
    err = _serve(tmp_path, {**both, "ALERTMANAGER_TOKEN": SHARED})
    assert "ALERTMANAGER_TOKEN" in err and "alertmanager_token_env" in err and SHARED not in err
    err = _serve(tmp_path, {"AM_TOKEN_ALPHA": ALPHA_TOKEN, "AM_TOKEN_BRAVO": ALPHA_TOKEN})
    assert "the same token" in err and ALPHA_TOKEN not in err
