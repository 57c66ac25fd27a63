"""`[[workflows]]` in the policy: read as the issue spells them, checked at start one line per mistake."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from config.errors import ConfigError
from config.integrations import WEBHOOK_EVENTS
from config.policy import Policy
from config.policy_file import policy_from_dict
from config.workflow_steps import Bookmark, Invite, Post, Remind
from domain.severity import Severity
from services.wording import Wordings

ISSUE_EXAMPLE = """
[[workflows]]
name = "sev1-bridge"
on = "declared"
if = { severity = ["sev1"], not = { private = true } }
do = [
  { invite = ["S0EXEC", "U0ANA"] },
  { post = "Exec bridge: https://meet.example.com/sev1" },
  { bookmark = { title = "Status dashboard", url = "https://grafana.example.com/d/status" } },
  { remind = { after = "30m", text = "Is the status page current?" } },
]
"""


def _policy(workflows: list[dict[str, Any]], **more: Any) -> Policy:
    return policy_from_dict({"workflows": workflows, **more})


def _problems(workflows: list[dict[str, Any]], **more: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _policy(workflows, **more)
    return str(caught.value).splitlines()


def test_the_issues_example_reads(tmp_path: Path) -> None:
    path = tmp_path / "incident-bot.toml"
    path.write_text(ISSUE_EXAMPLE)
    from config.policy_file import load_policy

    [wf] = load_policy(path).workflows
    assert (wf.name, wf.on) == ("sev1-bridge", "declared")
    assert wf.when.severity == (Severity.SEV1,) and wf.when.not_ is not None and wf.when.not_.private
    invite, post, bookmark, remind = wf.do
    assert isinstance(invite, Invite) and invite.who == ("S0EXEC", "U0ANA")
    assert isinstance(post, Post) and post.text == "Exec bridge: https://meet.example.com/sev1"
    assert isinstance(bookmark, Bookmark) and bookmark.url == "https://grafana.example.com/d/status"
    assert isinstance(remind, Remind) and remind.after.total_seconds() == 1800
    assert [step.dump() for step in wf.do][3] == {
        "remind": {"after": 1800, "text": "Is the status page current?"}
    }


def test_each_mistake_is_one_line_naming_its_key() -> None:
    lines = _problems(
        [
            {
                "name": "a",
                "on": "declard",
                "iff": {},
                "do": [{"remind": {"text": "no after"}}, {"pots": "x"}, {"post": "x", "invite": "U1"}],
            },
            {"name": "b", "on": "declared", "if": {"sevrity": "sev1"}, "do": [{"post": "ok"}]},
        ]
    )
    assert lines == [
        "config: workflows[0].on: unknown trigger 'declard'; did you mean `declared`? (triggers: declared, "
        "severity_changed, status_changed, role_assigned, field_changed, resolved, reopened, member_joined, "
        "followup_overdue, postmortem_overdue)",
        "config: workflows[0].do[0].remind.after: Field required",
        "config: workflows[0].do[1]: unknown step 'pots'; did you mean `post`? (steps: invite, post, dm, "
        "checklist, bookmark, topic, page, assign, webhook, remind, set, severity)",
        'config: workflows[0].do[2]: a step is an inline table with one key naming it, like { post = "…" } '
        "(got post, invite)",
        "config: workflows[0].iff: unknown key; did you mean `if`?",
        "config: workflows[1].if.sevrity: unknown key; did you mean `severity`?",
    ]


def test_what_a_workflow_names_must_exist() -> None:
    lines = _problems(
        [
            {
                "name": "page-it",
                "on": "field_changed",
                "if": {"field": "regoin", "fields": {"region": "Mars"}, "to": "EU", "role": "scribe"},
                "do": [
                    {"page": "L9"},
                    {"page": {"schedule": "nobody"}},
                    {"assign": {"role": "comms", "schedule": "nobody"}},
                    {"webhook": "ops"},
                    {"set": {"field": "region", "value": "Mars"}},
                    {"set": {"field": "ticket", "value": "x"}},
                ],
            },
            {
                "name": "page-it",
                "on": "declared",
                "if": {"service": "nope", "from": "sev2"},
                "do": [{"post": "x"}],
            },
            {"name": "c", "on": "severity_changed", "if": {"to": "sev9"}, "do": [{"post": "x"}]},
        ],
        fields=[{"name": "region", "type": "select", "options": ["EU", "US"]}],
        webhooks=[{"url": "https://hooks.example.com/a", "secret": "12345678", "name": "audit"}],
    )
    assert lines == [
        "config: workflows[0].if.field: unknown field regoin (known: region)",
        "config: workflows[0].if.fields.region: 'Mars' is not an option (EU, US)",
        "config: workflows[0].if.role: only for on = role_assigned, not on = field_changed",
        "config: workflows[0].do[0].page.level: unknown level L9 (known: L1, L2, L3, L4)",
        "config: workflows[0].do[1].page.schedule: unknown schedule nobody (known: none)",
        "config: workflows[0].do[2].assign.schedule: unknown schedule nobody (known: none)",
        "config: workflows[0].do[3].webhook.name: no webhook named ops (known: audit)",
        "config: workflows[0].do[4].set.value: 'Mars' is not an option of region (EU, US)",
        "config: workflows[0].do[5].set.field: unknown field ticket (known: region)",
        "config: workflows[1].name: workflows[0] is called page-it too; names are unique",
        "config: workflows[1].if.service: unknown service nope (known: none)",
        "config: workflows[1].if.from: only for changes (severity_changed, status_changed, field_changed), "
        "not on = declared",
        "config: workflows[2].if.to: 'sev9' is not a severity (sev1 … sev4)",
    ]


def test_a_workspace_adds_and_replaces_workflows_by_name_and_is_checked_on_its_own() -> None:
    base = {"name": "top", "on": "declared", "do": [{"post": "top"}]}
    own = {"name": "own", "on": "resolved", "do": [{"page": "L2"}]}
    instead = {"name": "top", "on": "resolved", "do": [{"post": "instead"}]}
    workspaces = {"T0ONE": {"workflows": [own]}, "T0TWO": {}, "T0THREE": {"workflows": [instead, own]}}
    policy = _policy([base], workspaces=workspaces)
    assert [w.name for w in policy.workflows] == ["top"]
    assert [w.name for w in policy.of("T0ONE").workflows] == ["own", "top"], "added: its own first"
    assert [w.name for w in policy.of("T0TWO").workflows] == ["top"]
    assert [(w.name, w.on) for w in policy.of("T0THREE").workflows] == [
        ("top", "resolved"),
        ("own", "resolved"),
    ]
    lines = _problems([base], workspaces={"T0ONE": {"workflows": [{**own, "do": [{"page": "L7"}]}]}})
    assert lines == [
        "config: workspaces.T0ONE.workflows[0].do[0].page.level: unknown level L7 (known: L1, L2, L3, L4)"
    ]
    # A workflow the workspace keeps is checked against its own levels, and said as the top level's.
    paging = {"name": "page-l3", "on": "declared", "do": [{"page": "L3"}]}
    short = {
        "escalation": {"levels": [{"name": "L1", "users": ["U0A"]}]},
        "workflows": [own | {"do": [{"post": "x"}]}],
    }
    assert _problems([base, paging], workspaces={"T0SHORT": short}) == [
        "config: workspaces.T0SHORT: workflows[1].do[0].page.level: unknown level L3 (known: L1)"
    ]


def test_webhooks_have_unique_names_and_the_workflow_events_are_opt_in() -> None:
    hook = {"url": "https://hooks.example.com/a", "secret": "12345678", "name": "audit"}
    assert policy_from_dict({"webhooks": [hook]}).webhooks[0].events == WEBHOOK_EVENTS
    assert "role_assigned" not in WEBHOOK_EVENTS and "member_joined" not in WEBHOOK_EVENTS
    opted = policy_from_dict({"webhooks": [{**hook, "events": ["declared", "role_assigned", "reopened"]}]})
    assert opted.webhooks[0].events == ("declared", "role_assigned", "reopened")
    with pytest.raises(ConfigError, match="webhook names must be unique"):
        policy_from_dict({"webhooks": [hook, {**hook, "url": "https://hooks.example.com/b"}]})


def test_templates_and_inline_words_are_checked_where_templates_load(tmp_path: Path) -> None:
    (tmp_path / "bridge.j2").write_text("Bridge for {{ incident.number }} ({{ workflow.name }})\n")
    (tmp_path / "stray.j2").write_text("not used\n")
    steps = [
        {"post": {"template": "bridge"}},
        {"post": "{{ incident.nope }}"},
        {"post": {"template": "gone"}},
    ]
    policy = _policy([{"name": "w", "on": "declared", "do": steps}], templates={"dir": str(tmp_path)})
    with pytest.raises(ConfigError) as caught:
        Wordings(policy, None)
    assert str(caught.value) == f"{tmp_path / 'stray.j2'}:1: not a template the bot uses ({_names()})"
    (tmp_path / "stray.j2").unlink()
    with pytest.raises(ConfigError) as caught:
        Wordings(policy, None)
    assert str(caught.value).splitlines() == [
        "workflows[0].do[1].post.text:1: 'dict object' has no attribute 'nope'",
        f"workflows[0].do[2].post.template: no template gone.j2 in {tmp_path}",
    ]
    fine = _policy([{"name": "w", "on": "declared", "do": steps[:1]}], templates={"dir": str(tmp_path)})
    assert Wordings(fine, None).of(fine).files("bridge") == ["bridge.j2"]
    own = _policy([{"name": "w", "on": "declared", "do": [{"post": {"template": "update"}}]}])
    with pytest.raises(ConfigError, match=r"template: update is one of the bot's own messages"):
        Wordings(own, None)


def _names() -> str:
    from messages.templating import NAMES

    return ", ".join(NAMES)


def test_serve_refuses_a_workflow_mistake_per_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "incident-bot.toml").write_text(
        '[[workflows]]\nname = "x"\non = "declared"\ndo = [{ page = "L9" }, { webhook = "nope" }]\n'
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_BOT", "DATABASE_URL"))
    }
    env["SLACK_BOT_TOKEN"] = "xoxb-not-a-real-token"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--http"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "incident-bot: configuration error: incident-bot.toml: workflows[0].do[0].page.level: "
        "unknown level L9 (known: L1, L2, L3, L4)",
        "incident-bot: configuration error: incident-bot.toml: workflows[0].do[1].webhook.name: "
        "no webhook named nope (known: none)",
    ]


def test_the_readmes_workflows_read_and_render() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Workflows\n", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    assert blocks
    for block in blocks:
        policy = policy_from_dict(tomllib.loads(block), source="README")
        assert policy.workflows
        Wordings(policy, None)  # inline words render against the sample incidents


def test_an_entry_that_does_not_read_leaves_the_others_checked_for_what_they_name() -> None:
    steps_typo = {"name": "typo", "on": "declared", "do": [{"pst": "x"}]}
    names_level = {"name": "level", "on": "declared", "do": [{"page": "L9"}]}
    own_typo = {"name": "own", "on": "declard", "do": [{"post": "x"}]}
    own_level = {"name": "own-level", "on": "declared", "do": [{"page": "L8"}]}
    lines = _problems([steps_typo, names_level], workspaces={"T0ONE": {"workflows": [own_typo, own_level]}})
    assert [line.split(": ")[1] for line in lines] == [
        "workflows[0].do[0]",
        "workflows[1].do[0].page.level",
        "workspaces.T0ONE.workflows[0].on",
        "workspaces.T0ONE.workflows[1].do[0].page.level",
    ], lines
