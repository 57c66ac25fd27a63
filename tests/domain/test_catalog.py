"""The catalog's lookups and the explainable failure-mode match, on the project's runbooks and the seeds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config.policy_file import policy_from_dict
from domain.catalog import Catalog, Service, match, words
from domain.runbooks import EscalationLevel, FailureMode, parse_runbook

HERE = Path(__file__).parent / "runbooks"
SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / "002_9f8791a81a374768.txt"


def service(path: Path, name: str = "svc", **over: object) -> Service:
    book = parse_runbook(path.read_text())
    fields = {
        "failure_modes": book.failure_modes,
        "escalation": book.escalation,
        "experts": book.experts,
        **over,
    }
    return Service(name, book.title, str(path), **fields)  # type: ignore[arg-type]


def names(found: list) -> list[str]:
    return [m.mode.name for m in found]


def test_502_finds_service_down_in_the_sample_runbook() -> None:
    if not SAMPLE.is_file():
        pytest.skip("the seed runbooks are not checked out beside the project")
    sample = service(SAMPLE)
    [found] = match(sample, "checkout returns 502s")
    assert found.mode.name == "Service Down / 502 Errors"
    assert found.why == "matched “502s”"
    assert names(match(sample, "Redis connection timeout")) == ["Redis Cache Down"]
    assert names(match(sample, "too many connections on the primary")) == [
        "Database Connection Pool Exhausted"
    ]


def test_matching_the_projects_runbooks() -> None:
    checkout = service(HERE / "checkout_incidents.md")
    assert names(match(checkout, "Checkout 502s for EU customers")) == ["Checkout Down / 502 Errors"]
    search = service(HERE / "search_service.md")
    [slow] = match(search, "search queries are slow")
    assert slow.mode.name == "Slow Queries"
    assert slow.why == "matched “queries”, “slow”", "said back as written, not as the stem “querie”"


def test_no_match_is_empty_and_common_words_count_nothing() -> None:
    checkout = service(HERE / "checkout_incidents.md")
    assert match(checkout, "the service is on fire") == []
    assert match(checkout, "") == []


def test_ties_are_all_returned_up_to_three() -> None:
    modes = tuple(FailureMode(f"Disk {i}", symptoms=("disk full",)) for i in range(5))
    found = match(Service("s", "S", "x", failure_modes=modes), "disk")
    assert names(found) == ["Disk 0", "Disk 1", "Disk 2"]


def test_words_drop_a_plurals_s() -> None:
    assert words("502s Timeouts class") == {"502", "timeout", "class"}


def test_lookup_by_name_typo_and_alert_labels() -> None:
    a = Service("checkout", "Checkout", "a", alerts={"service": "checkout"})
    b = Service("checkout-eu", "Checkout EU", "b", alerts={"service": "checkout", "region": "eu"})
    catalog = Catalog((a, b))
    assert catalog.get("CHECKOUT") is a and catalog.get("nope") is None and catalog.get(None) is None
    assert catalog.closest("chekout") == "checkout"
    assert catalog.closest("xyz") is None
    assert catalog.for_alert({"service": "checkout", "region": "eu"}) is b, "the most specific"
    assert catalog.for_alert({"service": "checkout"}) is a
    assert catalog.for_alert({"service": "search"}) is None


def test_expert_by_area_or_a_unique_prefix() -> None:
    search = service(HERE / "search_service.md")
    assert search.expert("database").handle == "@dba-team"
    assert search.expert("Net").handle == "@net-team"
    assert search.expert("storage") is None


def test_a_services_escalation_keeps_reach_and_the_rest_of_the_policy() -> None:
    policy = policy_from_dict(
        {"schedules": [{"name": "pay", "users": ["U1"], "shift": "1d", "handoff": "2026-01-05T09:00"}]}
    )
    svc = Service(
        "pay",
        "Pay",
        "x",
        schedule="pay",
        escalation=(
            EscalationLevel(1, "On-call", None),
            EscalationLevel(2, "Payments lead @pay-leads", timedelta(minutes=20)),
            EscalationLevel(9, "Nobody", timedelta(hours=9)),
        ),
    )
    own = policy.for_service(svc)
    l1, l2, l3, _ = own.escalation.levels
    assert (l1.schedule, l1.users, l1.after) == ("pay", (), timedelta(0))
    assert (l2.handle, l2.after) == ("@pay-leads", timedelta(minutes=20))
    assert l2.title == "Payments lead @pay-leads"
    assert l3 == policy.escalation.levels[2]
    assert own.escalation.reach == policy.escalation.reach
    assert policy.for_service(None) is policy
    assert policy.for_service(Service("bare", "Bare", "y")) is policy


def test_a_services_title_drops_the_runbook_prefix() -> None:
    from config.services import ServiceEntry
    from services.catalog import merge

    entry = ServiceEntry(name="search", runbook="search.md")
    assert merge(entry, parse_runbook((HERE / "search_service.md").read_text()), "x").title == "Search"
    assert merge(entry, parse_runbook("no heading"), "x").title == "search"
