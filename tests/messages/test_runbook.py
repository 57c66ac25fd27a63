"""The runbook card's rendering at its edges: links only to clean URLs, code cut within a section,
several long modes sharing the 50 blocks, and checkbox ids that name a step or nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from config.policy_file import policy_from_dict
from domain.catalog import Service
from domain.runbooks import Dashboard, DiagnosisStep, FailureMode
from domain.severity import Severity
from messages.blocks import MAX_BLOCKS, MAX_SECTION
from messages.runbook import Card, Shown, card, parse_step
from messages.variables import card_vars, incident_vars
from services.wording import load_templates
from storage.models import Incident


def _service(*modes: FailureMode, owner: str = "@team") -> Service:
    return Service(
        name="svc",
        title="Svc",
        runbook="svc.md",
        owner=owner,
        dashboards=(
            Dashboard("Good", "https://grafana.example.test/d/1"),
            Dashboard("Bad", "javascript:alert(1)"),
        ),
        failure_modes=modes,
    )


def _head(c: Card, runbook_url: str | None = None) -> list[str]:
    """The card's head in the shipped wording."""
    at = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    incident = Incident(
        number=1,
        title=c.title,
        severity=Severity.SEV2,
        declared_at=at,
        status="investigating",
        runbook_url=runbook_url,
    )
    variables = {"incident": incident_vars(incident), "service": card_vars(c)}
    return load_templates(policy_from_dict({}), None).render("runbook_card", variables)


def test_only_clean_urls_become_links() -> None:
    service = _service()
    for url, linked in [("https://wiki.example.test/rb", True), ("javascript:alert(1)", False)]:
        c = Card(service, (), runbook_url=url, owner_is_group=False)
        text = json.dumps(card(c, _head(c, url)).blocks)
        assert ("<https://wiki.example.test/rb|Runbook>" in text) is linked
        assert "javascript" not in text
        assert "<https://grafana.example.test/d/1|Good>" in text and "Bad" in text
        assert "@team (not a Slack user group)" in text


def test_code_full_of_escapes_is_cut_within_a_section_without_splitting_one() -> None:
    mode = FailureMode("Boom", steps=(DiagnosisStep("Look", code="a & b < c\n" * 2000),))
    [step] = [b for b in card(Card(_service(mode), (Shown(0, mode),)), []).blocks if "accessory" in b]
    text = step["text"]["text"]
    assert len(text) <= MAX_SECTION and text.endswith("_… (cut; see the runbook)_")
    inside = text.split("```")[1]
    assert inside.strip().endswith("a &amp; b &lt; c"), "cut at a line's end, escapes whole"


def test_three_long_modes_share_the_blocks_and_each_says_what_is_left() -> None:
    modes = tuple(
        FailureMode(f"Mode {n}", steps=tuple(DiagnosisStep(f"s{i}") for i in range(80))) for n in range(3)
    )
    c = Card(_service(*modes), tuple(Shown(n, m) for n, m in enumerate(modes)))
    blocks = card(c, _head(c)).blocks
    assert len(blocks) == MAX_BLOCKS
    text = json.dumps(blocks)
    assert all(f"*Mode {n}*" in text for n in range(3))
    assert text.count("more steps in the runbook") == 3


@pytest.mark.parametrize(
    ("action_id", "key"),
    [("runbook_step:m0,2|2.3", "2.3"), ("runbook_step:c1|1.0", "1.0"), ("runbook_step:x1|1.0", None),
     ("runbook_step:m1|1", None), ("runbook_step:m1,2,3,4|1.0", None), ("other", None), (None, None)],
)  # fmt: skip
def test_a_checkbox_id_names_a_step_or_nothing(action_id: str | None, key: str | None) -> None:
    ref = parse_step(action_id)
    assert (ref.key if ref else None) == key
