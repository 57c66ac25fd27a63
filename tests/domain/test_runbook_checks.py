"""What `runbooks check` finds wrong in a runbook, each at its line, errors apart from warnings."""

from datetime import timedelta
from pathlib import Path

from domain.runbook_checks import Problem, find_problems
from domain.runbooks import MAX_TEXT, parse_runbook

HERE = Path(__file__).parent / "runbooks"

GOOD = """\
# Checkout

**Owner**: @payments-team

## Incident: Checkout Down

### Diagnosis

1. Check the pods

## Escalation Path

**Level 1**: On-call engineer
**Level 2 - Payments lead @pay-leads**: after 20 minutes
**Level 3 - Manager**: after 1 hour

## Subject Matter Experts

- **Database**: @dba-team
"""


def _problems(text: str, overrides: tuple[str, ...] = ()) -> list[tuple[int, str, str]]:
    found = find_problems(text, parse_runbook(text), overrides)
    return [(p.line, p.kind, p.message) for p in found]


def test_a_complete_runbook_has_no_problems() -> None:
    assert _problems(GOOD) == []
    assert find_problems(GOOD, parse_runbook(GOOD)) == ()


def test_no_failure_modes_is_an_error_at_the_top() -> None:
    text = GOOD.replace("## Incident: Checkout Down", "## Checkout Down")
    [(line, kind, message)] = _problems(text)
    assert (line, kind) == (1, "error")
    assert message.startswith("no failure modes: head each one `## Incident: <name>`")


def test_a_mode_without_steps_is_a_warning_at_its_heading() -> None:
    text = GOOD.replace(
        "## Escalation Path", "## Incident: Card Declines\n\nNothing yet.\n\n## Escalation Path"
    )
    assert _problems(text) == [(11, "warning", "failure mode “Card Declines” has no diagnosis steps")]


def test_a_quick_reference_row_without_a_section_points_at_the_row() -> None:
    text = (HERE / "platform_guide.md").read_text()
    found = _problems(text)
    assert (11, "warning", "failure mode “Certificate Expired” has no diagnosis steps (it has a Quick "
            "Reference row but no section)") in found  # fmt: skip
    assert (3, "warning", "the owner “Platform Team” is no @handle: no user group is named owner") in found


def test_no_owner_is_a_warning_unless_the_policy_names_one() -> None:
    text = GOOD.replace("**Owner**: @payments-team\n", "")
    assert _problems(text) == [
        (1, "warning", "no owner: add `**Owner**: @team` (or `owner` in the policy file)")
    ]
    assert _problems(text, ("owner",)) == []


def test_levels_out_of_order_are_errors_at_their_line() -> None:
    swapped = GOOD.replace("**Level 2 - Payments lead", "**Level 4 - Payments lead")
    assert _problems(swapped) == [(15, "error", "L3 comes after L4: the path must go up, L1 to L4")]
    twice = GOOD.replace("**Level 3 - Manager", "**Level 2 - Manager")
    assert _problems(twice) == [(15, "error", "L2 comes again: the path must go up, L1 to L4")]


def test_a_level_due_before_the_one_below_it_is_an_error() -> None:
    text = GOOD.replace("after 1 hour", "after 10 minutes")
    assert _problems(text) == [
        (
            15,
            "error",
            "L3 after 10m is due before L2 (after 20m): each level must come later than the one before",
        )
    ]


def test_an_expert_without_a_handle_is_a_warning_unless_the_policy_names_experts() -> None:
    text = GOOD.replace("- **Database**: @dba-team", "- **Database**: @dba-team\n- **Network**: ask Jo")
    assert _problems(text) == [(20, "warning", "expert “Network” names no @handle: “ask Jo”")]
    assert _problems(text, ("experts",)) == []


def test_text_past_the_cap_is_an_error_at_the_last_line_read() -> None:
    text = GOOD + ("x" * 99 + "\n") * (MAX_TEXT // 100 + 10)
    [problem] = find_problems(text, parse_runbook(text))
    assert problem == Problem(
        len(text[:MAX_TEXT].splitlines()),
        "longer than the 1,000,000 character cap: the text after this line is not read",
        error=True,
    )
    assert find_problems(text[:MAX_TEXT], parse_runbook(text[:MAX_TEXT])) == ()


def test_hostile_names_are_quoted_short_on_one_line() -> None:
    name = "<!channel> " + "A" * 5000
    text = GOOD.replace("## Escalation Path", f"## Incident: {name}\n\n## Escalation Path")
    [(line, kind, message)] = _problems(text)
    assert (line, kind) == (11, "warning")
    assert len(message) < 200 and "\n" not in message and message.count("A") == 80 - len("<!channel> ")


def test_the_readmes_example_runbook_is_read_whole_without_problems() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    text = readme.split("````markdown\n", 1)[1].split("\n````", 1)[0]
    book = parse_runbook(text)
    assert find_problems(text, book) == ()
    [mode] = book.failure_modes
    assert (mode.name, [s.title for s in mode.steps]) == (
        "Checkout Down / 502 Errors",
        ["Check the pods", "Check the last deploy"],
    )
    assert [(e.level, e.handle, e.after) for e in book.escalation][1] == (
        2,
        "@payments-leads",
        timedelta(minutes=20),
    )
    assert (book.owner, [e.handle for e in book.experts]) == ("@payments-team", ["@dba-team"])
