"""Policy parsing and the one-line, exit-2 configuration errors."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.policy import Policy
from config.policy_file import load_policy, policy_from_dict
from domain.severity import Severity

FULL = """
announce_channel = "C0INCIDENTS"
channel_prefix = "inc"

[[escalation.levels]]
name = "L1"
title = "On-call engineer"
users = ["U0ONCALL"]
after = "0s"

[[escalation.levels]]
name = "L2"
title = "Team lead"
usergroup = "S0LEADS"
after = "45m"

[escalation.reach]
sev1 = "L2"
sev2 = "L2"
sev3 = "L1"
sev4 = "L1"

[updates]
sev1 = "10m"
sev4 = "none"
"""


def test_defaults_follow_the_runbooks() -> None:
    policy = Policy()
    assert [(lvl.name, lvl.after) for lvl in policy.escalation.levels] == [
        ("L1", timedelta(0)),
        ("L2", timedelta(minutes=30)),
        ("L3", timedelta(hours=1)),
        ("L4", timedelta(hours=2)),
    ]
    assert [policy.escalation.reach_index(s) for s in Severity] == [3, 2, 1, 0]
    assert policy.updates.cadence(Severity.SEV1) == timedelta(minutes=15)
    assert policy.updates.cadence(Severity.SEV2) == timedelta(minutes=30)
    assert policy.updates.cadence(Severity.SEV4) is None
    assert policy.timeline.emoji == ("pushpin",)


def test_full_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(FULL)
    policy = load_policy(path)
    assert policy.announce_channel == "C0INCIDENTS"
    assert policy.channel_prefix == "inc"
    assert policy.escalation.levels[0].users == ("U0ONCALL",)
    assert policy.escalation.levels[1].usergroup == "S0LEADS"
    assert policy.escalation.levels[1].after == timedelta(minutes=45)
    assert policy.escalation.reach.sev1 == "L2"
    assert policy.updates.sev1 == timedelta(minutes=10)


def test_custom_levels_without_reach_cap_at_the_last_level() -> None:
    policy = policy_from_dict({"escalation": {"levels": [{"name": "A"}, {"name": "B", "after": "1h"}]}})
    assert policy.escalation.reach.sev1 == "B"
    assert policy.escalation.reach.sev4 == "A"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"announce_chanel": "x"}, "announce_chanel: unknown key"),
        (
            {"escalation": {"levels": [{"name": "L1", "after": "3x"}]}},
            "escalation.levels[0].after: bad duration",
        ),
        ({"escalation": {"levels": [{"name": "L1", "pager": 1}]}}, "escalation.levels[0].pager: unknown key"),
        ({"escalation": {"reach": {"sev1": "L9"}}}, "reach.sev1 names unknown level 'L9'"),
        (
            {"escalation": {"levels": [{"name": "L1", "after": "1h"}, {"name": "L2", "after": "5m"}]}},
            "ordered",
        ),
        ({"updates": {"sev2": "soon"}}, "updates.sev2: bad duration"),
        ({"channel_prefix": "Incident!"}, "channel_prefix"),
        ({"permissions": {"resolve": "everyone"}}, "permissions.resolve"),
        ({"permissions": {"responders_usergroup": "sre-team"}}, "permissions.responders_usergroup"),
    ],
)
def test_bad_policy_names_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_dict(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_BOT", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


SECRET = "xoxb-very-secret-token-value"


@pytest.mark.parametrize(
    ("args", "env", "toml", "expect"),
    [
        (["serve", "--http"], {"SLACK_BOT_TOKEN": SECRET}, None, "SLACK_SIGNING_SECRET: not set"),
        (
            ["serve"],
            {"SLACK_BOT_TOKEN": SECRET, "SLACK_SIGNING_SECRET": "s3cr3t-signing"},
            None,
            "SLACK_APP_TOKEN: not set",
        ),
        (["serve", "--http"], {}, None, "SLACK_BOT_TOKEN: not set"),
        (["serve", "--http"], {"SLACK_BOT_TOKEN": SECRET}, "announce_channel = [", "not valid TOML"),
        (["serve", "--http"], {"SLACK_BOT_TOKEN": SECRET}, "bogus = 1", "bogus: unknown key"),
        (
            ["db", "upgrade"],
            {"SLACK_BOT_TOKEN": SECRET, "DATABASE_URL": "mysql://x@y/z"},
            None,
            "DATABASE_URL: unsupported database",
        ),
        (["db", "upgrade"], {"SLACK_BOT_TOKEN": SECRET, "LOG_FORMAT": "xml"}, None, "LOG_FORMAT"),
    ],
)
def test_cli_config_errors_exit_2_with_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], toml: str | None, expect: str
) -> None:
    if toml is not None:
        (tmp_path / "incident-bot.toml").write_text(toml)
    result = _run(args, env, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expect in lines[0]
    assert SECRET not in result.stderr + result.stdout


def test_missing_config_file_named_by_env(tmp_path: Path) -> None:
    result = _run(["db", "upgrade"], {"INCIDENT_BOT_CONFIG": str(tmp_path / "nope.toml")}, tmp_path)
    assert result.returncode == 2
    assert "nope.toml: cannot read config file" in result.stderr


def test_db_upgrade_creates_the_default_sqlite_file(tmp_path: Path) -> None:
    result = _run(["db", "upgrade"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    assert (tmp_path / "incident-bot.db").is_file()


def test_the_example_policy_and_compose_file_are_valid() -> None:
    import yaml

    from config.policy_file import load_policy

    root = Path(__file__).resolve().parents[2]
    policy = load_policy(root / "incident-bot.example.toml")
    assert [lvl.name for lvl in policy.escalation.levels] == ["L1", "L2", "L3", "L4", "L5"]
    # The runbooks' matrix: primary, secondary at the time to acknowledge, lead, manager, VP (SEV1).
    assert [lvl.schedule for lvl in policy.escalation.levels[:2]] == ["primary", "secondary"]
    assert [policy.level_after(1, s) for s in Severity] == [
        timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1), timedelta(hours=24),
    ]  # fmt: skip
    assert [policy.escalation.reach_index(s) for s in Severity] == [4, 2, 2, 0]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["bot"]["deploy"]["replicas"] == 2
    assert "--http" in services["bot"]["command"]
    assert services["bot"]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "healthcheck" in services["postgres"]
    assert services["proxy"]["depends_on"]["bot"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"announce_chanel": "x"}, "announce_chanel: unknown key; did you mean `announce_channel`?"),
        (
            {"escalation": {"levels": [{"name": "L1", "usres": ["U1"]}]}},
            "escalation.levels[0].usres: unknown key; did you mean `users`?",
        ),
        ({"updates": {"sev5": "1h"}}, "updates.sev5: unknown key; did you mean `sev1`?"),
        ({"postmortem": {"duee": {}}}, "did you mean `due`?"),
        (
            {"workspaces": {"T0ONE": {"permisions": {}}}},
            "workspaces.T0ONE.permisions: unknown key; did you mean `permissions`?",
        ),
    ],
)
def test_unknown_keys_suggest_the_closest_known_one(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_dict(data)
    assert str(info.value).endswith(message)


def test_an_unknown_key_far_from_every_known_one_gets_no_guess() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_dict({"frobnicate": 1})
    assert str(info.value) == "config: frobnicate: unknown key"


def test_the_duration_hint_lists_every_unit() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_dict({"updates": {"sev3": "1 day"}})
    for unit in ("90s", "30m", "1h", "1d", "1w"):
        assert unit in str(info.value)


@pytest.mark.parametrize(
    ("schedule", "missing"),
    [
        ({"users": ["U1"], "shift": "1w"}, "handoff is missing"),
        ({"users": ["U1"], "handoff": "2026-11-23T09:00"}, "shift is missing"),
        ({"shift": "1w"}, "users and handoff are missing"),
        ({"shift": "1w", "handoff": "2026-11-23T09:00", "users": []}, "users is missing"),
    ],
)
def test_a_rotation_says_which_part_is_missing(schedule: dict, missing: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_dict({"schedules": [{"name": "primary", **schedule}]})
    assert f"a rotation needs users, shift and handoff: {missing}" in str(info.value)


@pytest.mark.parametrize(
    ("data", "key", "shown"),
    [
        ({"webhooks": [{"url": "ftp://hooks.example.com/services/T0/SECRET1?k=SECRET2", "secret": "x" * 12}]},
         "webhooks[0].url", "ftp://hooks.example.com/…"),
        ({"webhooks": [{"url": "hooks.example.com/services/T0/SECRET1", "secret": "x" * 12}]},
         "webhooks[0].url", "hooks.example.com/…"),
        ({"statuspage": {"page_id": "p", "api_url": "https://user:SECRET1@api.example.com/v1/SECRET2 x"}},
         "statuspage.api_url", "https://api.example.com/…"),
        ({"schedules": [{"name": "p", "ical_url": "htp://cal.example.com/SECRET1/basic.ics?SECRET2"}]},
         "schedules[0].ical_url", ""),
    ],
)  # fmt: skip
def test_a_bad_url_is_named_without_its_path_or_query(data: dict, key: str, shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_dict(data)
    message = str(info.value)
    assert f"config: {key}: not an http(s) URL" in message and shown in message, message
    assert "SECRET" not in message, message
