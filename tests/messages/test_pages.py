"""A page DM's edited form at its edges: level names from a runbook are text, many acknowledgements are
counted past the first few, and a page drawn after an acknowledgement has no buttons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from config.policy_file import policy_from_dict
from domain.severity import Severity
from messages.blocks import MAX_SECTION
from messages.pages import MAX_ACKS, PageStatus, page_dm, page_updated
from messages.variables import incident_vars, page_vars
from services.wording import load_templates
from storage.models import Incident

AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
HOSTILE = "<!channel> <@U0VICTIM> <https://evil.example|x>"


def _incident() -> Incident:
    return Incident(
        number=7, channel_id="C0INC", title=HOSTILE, severity=Severity.SEV2, declared_at=AT, status="resolved"
    )


def _head(incident: Incident, level: str, title: str) -> list[str]:
    """The page's text in the shipped wording."""
    variables = {"incident": incident_vars(incident), **page_vars(level, title, "U0PAGED")}
    return load_templates(policy_from_dict({}), None).render("page", variables)


def test_level_names_and_titles_are_escaped_and_acknowledgements_are_capped() -> None:
    acks = tuple((f"U0P{n:03}", HOSTILE, AT + timedelta(minutes=n)) for n in range(MAX_ACKS + 5))
    upcoming = [(HOSTILE, HOSTILE, AT + timedelta(hours=1))]
    head = _head(_incident(), HOSTILE, HOSTILE)
    message = page_updated(_incident(), head, PageStatus(acks=acks), upcoming, AT)
    text = json.dumps(message.blocks, ensure_ascii=False)
    for live in ("<!channel", "<@U0VICTIM", "<https://evil.example"):
        assert live not in text and live not in message.text
    assert "<@U0P000>" in text and f"<@U0P{MAX_ACKS - 1:03}>" in text
    assert f"<@U0P{MAX_ACKS:03}>" not in text and "… and 5 more acknowledgements" in text
    assert all(len(json.dumps(b)) < MAX_SECTION for b in message.blocks)
    assert "page_acknowledge" not in text


def test_the_resolution_drops_what_would_follow_and_a_late_page_after_an_ack_has_no_buttons() -> None:
    resolved = PageStatus(acks=(("U0A", "L1", AT),), resolved_at=AT + timedelta(minutes=9))
    upcoming = [("L2", "Team lead", AT + timedelta(hours=1))]
    head = _head(_incident(), "L3", "Manager")
    text = json.dumps(page_updated(_incident(), head, resolved, upcoming, AT).blocks)
    assert "Resolved at 2026-11-22 03:09 UTC" in text and "L2 Team lead" not in text
    assert "You are paged (L3 Manager) for SEV2 INC-7:" in text, "worded as the page was"
    fresh = page_dm(_incident(), head, "L3", "Manager", AT, 1, None, upcoming, status=PageStatus())
    late = page_dm(_incident(), head, "L3", "Manager", AT, 1, None, upcoming, status=resolved)
    assert "page_acknowledge" in json.dumps(fresh.blocks)
    assert "page_acknowledge" not in json.dumps(late.blocks)
    assert "Acknowledged by <@U0A> at 2026-11-22 03:00 UTC (L1 page)" in json.dumps(late.blocks)
