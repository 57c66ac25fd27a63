"""Slash-command grammar: every accepted form and every refusal."""

import pytest

from domain.severity import Severity, Status
from handlers import parse as p


def test_split_lowercases_the_subcommand_and_undoes_entities() -> None:
    assert p.split("  DECLARE sev2 a &amp; b ") == ("declare", "sev2 a & b")
    assert p.split("") == ("", "")


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("", None),
        ("sev2 Checkout is down", p.Declare(Severity.SEV2, "Checkout is down")),
        ("SEV-1 DB on fire", p.Declare(Severity.SEV1, "DB on fire")),
        ("P0 Total outage", p.Declare(Severity.SEV1, "Total outage")),
        ("p3  spaced   out ", p.Declare(Severity.SEV4, "spaced out")),
    ],
)
def test_declare(rest: str, expected: p.Declare | None) -> None:
    assert p.parse_declare(rest) == expected


def test_update_and_resolve() -> None:
    assert p.parse_update("Rolling back") == p.Update(None, "Rolling back")
    assert p.parse_update("identified Bad deploy 1234") == p.Update(Status.IDENTIFIED, "Bad deploy 1234")
    assert p.parse_update("Monitoring all green") == p.Update(Status.MONITORING, "all green")
    assert p.parse_resolve(" Rolled back ") == "Rolled back"


@pytest.mark.parametrize(
    ("fn", "rest", "fragment", "sub"),
    [
        (p.parse_declare, "sev9 Title", "Unknown severity `sev9`", "declare"),
        (p.parse_declare, "critical Title", "sev1, sev2, sev3, sev4", "declare"),
        (p.parse_declare, "sev2", "needs a title", "declare"),
        (p.parse_declare, "sev2 " + "x" * 201, "201 characters", "declare"),
        (p.parse_update, "", "Missing update text", "update"),
        (p.parse_update, "identified", "Missing update text", "update"),
        (p.parse_update, "resolved done", "/incident resolve", "resolve"),
        (p.parse_update, "y" * 3000, "3000 characters", "update"),
        (p.parse_resolve, "  ", "Missing resolution summary", "resolve"),
    ],
)
def test_refusals(fn, rest: str, fragment: str, sub: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(p.UsageError) as info:
        fn(rest)
    assert fragment in info.value.problem
    assert info.value.subcommand == sub


def test_titles_are_flattened() -> None:
    _, rest = p.split("declare sev2 &lt;!channel&gt; db &amp; cache <!here> for <@U123|ann> in <#C9|ops>")
    assert p.parse_declare(rest) == p.Declare(Severity.SEV2, "@channel db & cache @here for @ann in #ops")
    assert p.flatten("<!subteam^S123|@oncall> paged") == "@oncall paged"


@pytest.mark.parametrize(
    ("rest", "looks_like"),
    [
        ("monitorng all green", "monitoring"),
        ("Idnetified bad deploy", "identified"),
        ("mitigatin rolling back", "mitigating"),
        ("investigatng still looking", "investigating"),
        ("resolvd all fixed", "resolved"),
    ],
)
def test_a_status_one_edit_away_is_asked_about(rest: str, looks_like: str) -> None:
    cmd = p.parse_update(rest)
    assert cmd == p.Update(None, rest, looks_like)


@pytest.mark.parametrize("rest", ["monitored since noon", "idle workers", "moni toring", "fix deployed"])
def test_other_first_words_are_text(rest: str) -> None:
    assert p.parse_update(rest) == p.Update(None, rest)


def test_a_status_typo_alone_asks_for_the_text() -> None:
    with pytest.raises(p.UsageError) as info:
        p.parse_update("monitorng")
    assert "looks like the status *monitoring*" in info.value.problem
    assert info.value.subcommand == "update"
