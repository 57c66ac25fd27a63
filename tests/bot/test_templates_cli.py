"""`incident-bot templates list|show|preview|check` as processes, and `serve` and `worker` refusing, in
one line naming file:line, to start on a template that does not render."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.wording import DEFAULTS
from tests.harness import Harness
from tests.processes import free_port, run_bot

POLICY = """announce_channel = "#incidents"
[templates]
dir = "words"
[[fields]]
name = "region"
type = "select"
options = ["EU", "US"]
"""


def _team(folder: Path, files: dict[str, str]) -> dict[str, str]:
    """A policy file in `folder` whose `[templates] dir` holds `files`; the environment naming it."""
    (folder / "words").mkdir(parents=True, exist_ok=True)
    (folder / "incident-bot.toml").write_text(POLICY)
    for name, text in files.items():
        (folder / "words" / name).write_text(text)
    return {"INCIDENT_BOT_CONFIG": str(folder / "incident-bot.toml")}


BROKEN = {
    "unknown variable": (
        "update.j2",
        "*Update*\n\n{{ incident.titel }}",
        ":3: 'dict object' has no attribute 'titel'",
    ),
    "syntax error": (
        "initial.sev1.j2",
        "ok\n{% if incident.title %}\nnever closed",
        ":3: Unexpected end of template.",
    ),
    "too many sections": (
        "announce.j2",
        "{% for i in range(21) %}{{ i }}\n---\n{% endfor %}",
        ":1: renders 21 sections; Slack's limits allow 20",
    ),
    "a name the bot does not use": ("intial.j2", "typo", ":1: not a template the bot uses"),
}


@pytest.mark.parametrize(
    ("command", "case"),
    [("serve", case) for case in BROKEN] + [("worker", "unknown variable")],
)
async def test_serving_refuses_a_template_that_does_not_render_in_one_line(
    tmp_path: Path, command: str, case: str
) -> None:
    file, text, problem = BROKEN[case]
    env = _team(tmp_path, {file: text})
    args = [command, "--host", "127.0.0.1", "--port", str(free_port())]
    env |= {
        "SLACK_BOT_TOKEN": "xoxb-refusal",
        "SLACK_SIGNING_SECRET": "refusal-secret",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }
    ran = await run_bot([*args, "--http"] if command == "serve" else args, tmp_path, **env)
    assert ran.returncode == 2, ran.stderr
    [line] = ran.stderr.splitlines()
    assert line.startswith(f"incident-bot: configuration error: {tmp_path / 'words' / file}{problem}"), line


async def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    env = _team(
        tmp_path, {"update.j2": BROKEN["unknown variable"][1], "announce.j2": BROKEN["too many sections"][1]}
    )
    ran = await run_bot(["templates", "check"], tmp_path, **env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    words = tmp_path / "words"
    assert ran.stderr.splitlines() == [
        f"{words / 'announce.j2'}:1: renders 21 sections; Slack's limits allow 20",
        f"{words / 'update.j2'}:3: 'dict object' has no attribute 'titel'",
    ]
    in_use = len({p.name for p in DEFAULTS.glob("*.j2")} | {"update.j2", "announce.j2"})
    assert ran.stdout == f"{in_use} template files checked: 2 with errors\n"

    (words / "update.j2").write_text("{{ update.text }} ({{ incident.fields.region or 'no region' }})")
    (words / "announce.j2").unlink()
    ran = await run_bot(["templates", "check"], tmp_path, **env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout == f"{in_use} template files checked: 0 with errors\n"


async def test_list_says_which_are_overridden_and_show_prints_the_default(tmp_path: Path) -> None:
    env = _team(tmp_path, {"initial.sev1.j2": "SEV1 words", "update.j2": "{{ update.text }}"})
    ran = await run_bot(["templates", "list"], tmp_path, **env)
    assert ran.returncode == 0, ran.stderr
    rows = [line.split() for line in ran.stdout.splitlines()]
    words = tmp_path / "words"
    assert rows[0] == ["TEMPLATE", "FILE", "FROM", "PATH"]
    assert ["initial", "initial.sev1.j2", "overridden", str(words / "initial.sev1.j2")] in rows
    assert ["initial", "initial.j2", "default", str(DEFAULTS / "initial.j2")] in rows
    assert ["update", "update.j2", "overridden", str(words / "update.j2")] in rows
    assert ["update", "update.j2", "default", str(DEFAULTS / "update.j2")] not in rows
    assert rows.index(
        ["initial", "initial.sev1.j2", "overridden", str(words / "initial.sev1.j2")]
    ) < rows.index(["initial", "initial.j2", "default", str(DEFAULTS / "initial.j2")]), "most specific first"
    assert ran.stdout.splitlines()[-1] == "2 files of the team's own in use"

    for name in ("initial", "update", "resolution", "announce"):
        shown = await run_bot(["templates", "show", name], tmp_path, **env)
        assert shown.returncode == 0 and shown.stdout == (DEFAULTS / f"{name}.j2").read_text(), name
    unknown = await run_bot(["templates", "show", "intial"], tmp_path, **env)
    assert (
        unknown.returncode == 2
        and "no template 'intial': the templates are initial, update" in unknown.stderr
    )


async def test_preview_renders_a_sample_by_severity(tmp_path: Path) -> None:
    env = _team(tmp_path, {"initial.sev1.j2": "SEV1: {{ incident.title }} in {{ incident.fields.region }}"})
    ran = await run_bot(["templates", "preview", "initial", "--severity", "sev1"], tmp_path, **env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "SEV1: Checkout API returns 500s in EU\n"
    assert ran.stderr == f"# {tmp_path / 'words' / 'initial.sev1.j2'}\n"
    plain = await run_bot(["templates", "preview", "initial"], tmp_path, **env)
    sections = plain.stdout.split("\n---\n")
    assert sections[0].startswith("*Severity:* :large_orange_circle: SEV2 (Major)")
    assert sections[1] == "*Impact*\nCustomers cannot pay\n"


async def test_preview_renders_a_real_incident(harness: Harness, tmp_path: Path) -> None:
    h = harness
    channel = await h.declare("sev2 Search is <!channel> slow")
    await h.command(h.alice, channel, "update identified Bad index")
    env = _team(tmp_path, {"update.j2": "{{ incident.number }}: {{ update.text }} by {{ update.author }}"})
    args = ["templates", "preview", "update", "--incident", "INC-1"]
    ran = await run_bot(args, tmp_path, DATABASE_URL=h.database_url, **env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"INC-1: Bad index by <@{h.alice}>\n"
    ran = await run_bot(
        ["templates", "preview", "announce", "--incident", "1"], tmp_path, DATABASE_URL=h.database_url, **env
    )
    assert ran.stdout.startswith(":large_orange_circle: *SEV2 incident declared:* Search is @channel slow\n")
    missing = await run_bot(
        ["templates", "preview", "update", "--incident", "INC-9"],
        tmp_path,
        DATABASE_URL=h.database_url,
        **env,
    )
    assert missing.returncode == 2 and "no incident INC-9" in missing.stderr


async def test_the_readmes_worked_example_renders_as_the_readme_says(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    fields = readme.split("### Your own fields", 1)[1].split("```toml\n", 1)[1].split("\n```", 1)[0]
    words = readme.split("### Your own words", 1)[1]
    template, after = words.split("```jinja\n", 1)[1].split("\n```", 1)
    printed = after.split("```\n", 1)[1].split("\n```", 1)[0]
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "initial.sev1.j2").write_text(template + "\n")
    policy = f'announce_channel = "#incidents"\n[templates]\ndir = "templates"\n{fields}\n'
    (tmp_path / "incident-bot.toml").write_text(policy)
    env = {"INCIDENT_BOT_CONFIG": str(tmp_path / "incident-bot.toml")}
    checked = await run_bot(["templates", "check"], tmp_path, **env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = await run_bot(["templates", "preview", "initial", "--severity", "sev1"], tmp_path, **env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == printed + "\n"
