"""`incident-bot workflows check|dry-run` as processes, with no database and no Slack in the
environment, and the README's worked examples loaded as a policy and dry-run as the README says."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from config.policy_file import policy_from_dict
from services.wording import load_templates, workflow_problems
from tests.processes import Ran, free_port, run_bot

README = Path(__file__).parents[2] / "README.md"
POLICY = """announce_channel = "#incidents"
[[escalation.levels]]
name = "L1"
after = "0m"
users = ["U0ONCALL"]
[[services]]
name = "checkout"
runbook = "runbooks/checkout.md"
owner = "@payments-team"
[[fields]]
name = "region"
type = "select"
options = ["EU", "US"]
[[workflows]]
name = "sev1-bridge"
on = "declared"
if = { severity = ["sev1"], not = { private = true } }
do = [
  { invite = ["@exec-team", "U0ANA"] },
  { post = "Exec bridge: https://meet.example.com/sev1" },
  { remind = { after = "30m", text = "Is the status page current?" } },
]
[[workflows]]
name = "eu-checkout"
on = "declared"
if = { service = "checkout", fields = { region = "EU" } }
do = [{ invite = "@payments-team" }, { page = "L1" }]
[[workflows]]
name = "into-sev1"
on = "severity_changed"
if = { to = "sev1", not = { from = "sev2" } }
do = [{ topic = "Now {{ incident.severity }}" }]
[workspaces.T0OTHER]
workflows = [{ name = "other-only", on = "declared", do = [{ post = "Hello" }] }]
"""


async def _run(args: list[str], policy: Path) -> Ran:
    """`incident-bot workflows <args>` with only the policy file: no database, no Slack."""
    return await run_bot(["workflows", *args], policy.parent, INCIDENT_BOT_CONFIG=str(policy))


def _policy(folder: Path, text: str = POLICY) -> Path:
    path = folder / "incident-bot.toml"
    path.write_text(text)
    return path


async def test_check_summarises_each_workflow_of_each_workspace_table(tmp_path: Path) -> None:
    ran = await _run(["check"], _policy(tmp_path))
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout.splitlines() == [
        "top level: 3 workflows",
        "  sev1-bridge: on declared, if severity SEV1, not (private true); 3 steps (invite, post, remind)",
        "  eu-checkout: on declared, if service checkout, fields.region EU; 2 steps (invite, page)",
        "  into-sev1: on severity_changed, if to SEV1, not (from SEV2); 1 step (topic)",
        "workspaces.T0OTHER: 4 workflows",
        "  other-only: on declared, if always; 1 step (post)",
        "  sev1-bridge: on declared, if severity SEV1, not (private true); 3 steps (invite, post, remind)"
        " (the top level's)",
        "  eu-checkout: on declared, if service checkout, fields.region EU; 2 steps (invite, page)"
        " (the top level's)",
        "  into-sev1: on severity_changed, if to SEV1, not (from SEV2); 1 step (topic) (the top level's)",
    ]


async def test_check_says_each_mistake_on_one_line_and_exits_2(tmp_path: Path) -> None:
    broken = POLICY.replace("{ invite = [", "{ invit = [").replace('after = "30m", ', "")
    ran = await _run(["check"], _policy(tmp_path, broken))
    lines = ran.stderr.strip().splitlines()
    assert ran.returncode == 2 and ran.stdout == ""
    assert len(lines) == 2, ran.stderr
    assert "workflows[0].do[0]: unknown step 'invit'; did you mean `invite`?" in lines[0]
    assert "workflows[0].do[2].remind.after: Field required" in lines[1]
    unknown_level = await _run(
        ["check"], _policy(tmp_path, POLICY.replace('{ page = "L1" }', '{ page = "L9" }'))
    )
    assert unknown_level.returncode == 2 and unknown_level.stdout == ""
    assert "workflows[1].do[1].page.level: unknown level L9 (known: L1)" in unknown_level.stderr


async def test_check_finds_a_workspace_steps_words_that_do_not_render(tmp_path: Path) -> None:
    # The policy loads (it names nothing it lacks); a template file and inline text fail only the
    # check against the templates, which the command makes as serve does at start.
    broken = POLICY.replace('{ post = "Hello" }', '{ post = { template = "bridge" } }, { post = "{{ nope(" }')
    ran = await _run(["check"], _policy(tmp_path, broken))
    lines = ran.stderr.strip().splitlines()
    assert ran.returncode == 2 and ran.stdout == "", ran.stderr
    assert len(lines) == 2, ran.stderr
    assert "workspaces.T0OTHER.workflows[0].do[0].post.template: no template bridge.j2" in lines[0]
    assert "(no [templates] dir is set)" in lines[0]
    (tmp_path / "words").mkdir()
    with_dir = await _run(["check"], _policy(tmp_path, broken + '\n[templates]\ndir = "words"\n'))
    said = (
        f"workspaces.T0OTHER.workflows[0].do[0].post.template: no template bridge.j2 in {tmp_path / 'words'}"
    )
    assert with_dir.returncode == 2 and said in with_dir.stderr, with_dir.stderr
    assert "workspaces.T0OTHER.workflows[0].do[1].post.text" in lines[1]


async def test_dry_run_prints_the_workflows_that_would_run_and_their_steps(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    ran = await _run(
        ["dry-run", "--on", "declared", "--severity", "P0", "--service", "checkout", "--field", "region=eu"],
        policy,
    )
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout.splitlines() == [
        "declared: 2 of 2 workflows on it would run",
        "run sev1-bridge (if severity SEV1, not (private true)):",
        "  1. invite @exec-team, U0ANA",
        "  2. post “Exec bridge: https://meet.example.com/sev1”",
        "  3. remind after 30m: Is the status page current?",
        "run eu-checkout (if service checkout, fields.region EU):",
        "  1. invite @payments-team",
        "  2. page level L1",
    ]
    private = await _run(["dry-run", "--on", "declared", "--severity", "sev1", "--private"], policy)
    assert private.stdout.splitlines() == [
        "declared: 0 of 2 workflows on it would run",
        "not sev1-bridge: its conditions do not hold (if severity SEV1, not (private true))",
        "not eu-checkout: its conditions do not hold (if service checkout, fields.region EU)",
    ]


async def test_dry_run_judges_a_change_from_and_to(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    change = ["dry-run", "--on", "severity_changed", "--severity", "sev1", "--to", "sev1"]
    from_sev3 = await _run([*change, "--from", "sev3"], policy)
    from_sev2 = await _run([*change, "--from", "P1"], policy)
    assert (
        "run into-sev1" in from_sev3.stdout and "  1. topic “Now {{ incident.severity }}”" in from_sev3.stdout
    )
    assert from_sev2.stdout.splitlines()[0] == "severity_changed: 0 of 1 workflow on it would run"


async def test_dry_run_in_a_workspace_uses_its_own_workflows_and_those_it_keeps(tmp_path: Path) -> None:
    ran = await _run(
        ["dry-run", "--on", "declared", "--severity", "sev1", "--team", "T0OTHER"], _policy(tmp_path)
    )
    lines = ran.stdout.splitlines()
    assert lines[:3] == [
        "declared: 2 of 3 workflows on it would run",
        "run other-only (if always):",
        "  1. post “Hello”",
    ]
    assert "run sev1-bridge (if severity SEV1, not (private true)):" in lines, "the top level's, kept"


async def test_dry_run_refuses_a_service_field_or_value_the_policy_lacks(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    service = await _run(["dry-run", "--on", "declared", "--severity", "sev1", "--service", "nope"], policy)
    field = await _run(["dry-run", "--on", "declared", "--severity", "sev1", "--field", "zone=b"], policy)
    value = await _run(
        ["dry-run", "--on", "declared", "--severity", "sev1", "--field", "region=Mars"], policy
    )
    for ran, said in (
        (service, "--service: unknown service nope (known: checkout)"),
        (field, "--field zone=b"),
        (value, "--field region=Mars: `Mars` is not an option"),
    ):
        assert ran.returncode == 2 and ran.stdout == ""
        assert len(ran.stderr.strip().splitlines()) == 1 and said in ran.stderr, ran.stderr


def _readme_workflows() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Workflows")
    return text[start : text.index("\n### ", start + 1)]


async def test_readme_examples_load_and_dry_run_as_stated(tmp_path: Path) -> None:
    section = _readme_workflows()
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    examples = blocks[1:]  # the first is the reference entry above the three worked examples
    assert len(examples) == 3
    names = [tomllib.loads(b)["workflows"][0]["name"] for b in examples]
    assert names == ["sev1-bridge", "checkout-owners", "postmortem-nudge"]
    text = 'announce_channel = "#incidents"\n' + "\n".join(examples)
    policy = policy_from_dict(tomllib.loads(text))
    assert workflow_problems(load_templates(policy, None), policy) == []
    # The owning team's handle is the service's owner.
    owners = next(wf for wf in policy.workflows if wf.name == "checkout-owners")
    assert policy.services[0].owner in owners.do[0].who  # type: ignore[union-attr]

    (console,) = re.findall(r"```console\n(.*?)```", section, re.S)
    command, *said = console.splitlines()
    args = shlex.split(command.removeprefix("$ incident-bot workflows "))
    ran = await _run(args, _policy(tmp_path, text))
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout.splitlines() == said


@pytest.mark.parametrize("command", ["check", "serve"])
async def test_every_mistake_is_said_at_once_schema_names_and_words(tmp_path: Path, command: str) -> None:
    # A misspelt step (the entry does not read), a level the policy lacks and a template file that
    # is not there, in three workflows: one line each, in one run, whichever command reads the policy.
    broken = (
        POLICY.replace("{ invite = [", "{ invit = [")
        .replace('{ page = "L1" }', '{ page = "L9" }')
        .replace('{ post = "Hello" }', '{ post = { template = "bridge" } }')
    )
    policy = _policy(tmp_path, broken)
    if command == "check":
        ran = await _run(["check"], policy)
    else:
        port = str(free_port())
        ran = await run_bot(
            ["serve", "--http", "--host", "127.0.0.1", "--port", port],
            tmp_path,
            INCIDENT_BOT_CONFIG=str(policy),
            SLACK_BOT_TOKEN="xoxb-refusal",
            SLACK_SIGNING_SECRET="refusal-secret",
            SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        )
    lines = ran.stderr.strip().splitlines()
    assert ran.returncode == 2 and ran.stdout == "", ran.stderr
    said = [
        line.removeprefix("incident-bot: configuration error: ").removeprefix(f"{policy}: ") for line in lines
    ]
    assert [line.split(": ")[0] for line in said] == [
        "workflows[0].do[0]",
        "workflows[1].do[1].page.level",
        "workspaces.T0OTHER.workflows[0].do[0].post.template",
    ], ran.stderr


async def test_dry_run_judges_which_field_changed_and_refuses_a_change_that_cannot_be(tmp_path: Path) -> None:
    flow = (
        '[[workflows]]\nname = "eu-now"\non = "field_changed"\n'
        'if = { field = "region", to = "EU" }\ndo = [{ post = "EU" }]\n'
    )
    policy = _policy(tmp_path, POLICY.replace("[workspaces.T0OTHER]", flow + "[workspaces.T0OTHER]"))
    base = ["dry-run", "--on", "field_changed", "--severity", "sev2", "--to", "EU"]
    inferred = await _run([*base, "--field", "region=eu"], policy)
    named = await _run([*base, "--changed", "region"], policy)
    for ran in (inferred, named):
        assert ran.stdout.splitlines()[:2] == [
            "field_changed: 1 of 1 workflow on it would run",
            "run eu-now (if field region, to EU):",
        ], ran.stdout + ran.stderr
    for args, said in (
        (["--on", "severity_changed", "--to", "sev9"], "--to sev9: not a severity"),
        (["--on", "status_changed", "--from", "bogus"], "--from bogus: not a status"),
        (["--on", "field_changed", "--changed", "zone"], "--changed zone: not a field of the policy"),
    ):
        ran = await _run(["dry-run", "--severity", "sev2", *args], policy)
        assert ran.returncode == 2 and said in ran.stderr, ran.stderr


async def test_a_top_level_workflows_words_mistake_is_said_once_not_again_per_workspace(
    tmp_path: Path,
) -> None:
    text = (
        '[[workflows]]\nname = "top"\non = "declared"\ndo = [{ post = "{{ incident.nope.deeper }}" }]\n'
        '[workspaces.T0ACME]\nannounce_channel = "C0X"\n'
    )
    ran = await _run(["check"], _policy(tmp_path, text))
    assert ran.returncode == 2 and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
