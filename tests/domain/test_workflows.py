"""Which workflows an event sets off: the trigger an event is, and conditions judged against facts."""

from __future__ import annotations

from typing import Any

import pytest

from config.workflows import Conditions
from domain.workflows import Change, Facts, change_of, changes_of, matches

CHECKOUT = Facts(
    severity="SEV1",
    service="checkout",
    status="investigating",
    private=False,
    fields={"region": ("EU",), "products": ("Cart", "Pay"), "seats": ("120",)},
)


def _if(**given: Any) -> Conditions:
    return Conditions.model_validate(given)


@pytest.mark.parametrize(
    ("given", "runs"),
    [
        ({}, True),
        ({"severity": "sev1"}, True),
        ({"severity": ["sev2", "p0"]}, True),
        ({"severity": ["sev2", "sev3"]}, False),
        ({"service": ["search", "checkout"]}, True),
        ({"service": "search"}, False),
        ({"status": "investigating"}, True),
        ({"private": False}, True),
        ({"private": True}, False),
        ({"fields": {"region": ["eu", "us"]}}, True),
        ({"fields": {"region": "US"}}, False),
        ({"fields": {"products": "pay"}}, True),
        ({"fields": {"seats": 120}}, True),
        ({"fields": {"customer": "Acme"}}, False),
        ({"severity": "sev1", "service": "search"}, False),
        ({"not": {"private": True}}, True),
        ({"not": {"private": True, "service": "checkout"}}, False),
        ({"not": {"fields": {"region": "US"}}}, True),
        ({"severity": "sev1", "not": {"severity": "sev1"}}, False),
    ],
)
def test_all_of_any_of_and_none_of(given: dict[str, Any], runs: bool) -> None:
    assert matches(_if(**given), CHECKOUT) is runs


def _change(on: str, **rest: Any) -> Facts:
    return Facts("SEV2", None, "identified", False, change=Change(on, **rest))


def test_a_change_from_and_to() -> None:
    raised = _change("severity_changed", from_=("SEV2",), to=("SEV1",))
    assert matches(_if(**{"from": "SEV2", "to": ["SEV1"]}), raised)
    assert not matches(_if(to="SEV3"), raised)
    assert not matches(_if(**{"not": {"from": "SEV2"}}), raised)
    multi = _change("field_changed", field="products", from_=None, to=("Cart", "Pay"))
    assert matches(_if(field="products", to="pay"), multi), "any of a multi-select's new values"
    assert not matches(_if(**{"from": "Cart"}), multi), "an unset field was nothing"
    assert matches(_if(role="scribe"), _change("role_assigned", role="scribe"))
    assert not matches(_if(role=["comms", "commander"]), _change("role_assigned", role="scribe"))


def test_events_as_triggers() -> None:
    assert change_of("declared", {"declared_by": "U1"}) == Change("declared")
    moved = {"status": "monitoring", "previous_status": "identified", "text": "x"}
    assert change_of("updated", moved) == Change("status_changed", ("identified",), ("monitoring",))
    assert change_of("updated", {**moved, "previous_status": "monitoring"}) is None, "no move, no change"
    severity = change_of("severity_changed", {"from": "SEV2", "to": "SEV1", "by": "U1"})
    assert severity == Change("severity_changed", ("SEV2",), ("SEV1",), who="U1")
    field = change_of("field_changed", {"name": "seats", "from": None, "to": 120.0, "by": "U1"})
    assert field == Change("field_changed", None, ("120",), field="seats", who="U1")
    role = change_of("role_assigned", {"role": "comms", "user": "U2", "previous": None, "by": "U1"})
    assert role == Change("role_assigned", role="comms", who="U2")
    assert change_of("member_joined", {"user": "U3"}) == Change("member_joined", who="U3")
    assert change_of("followup_overdue", {"owner": "U4"}) == Change("followup_overdue", who="U4")
    for kind in ("paged", "acknowledged", "resolved", "reopened", "postmortem_overdue"):
        assert (change_of(kind, {}) is None) is (kind in ("paged", "acknowledged")), kind
    resolved = changes_of("resolved", {"summary": "x", "by": "U1", "previous_status": "monitoring"})
    assert resolved == (
        Change("resolved"),
        Change("status_changed", ("monitoring",), ("resolved",), who="U1"),
    )
    reopened = changes_of("reopened", {"reason": "x", "by": "U1", "status": "identified"})
    assert reopened == (
        Change("reopened"),
        Change("status_changed", ("resolved",), ("identified",), who="U1"),
    )
    assert changes_of("paged", {}) == () and changes_of("declared", {}) == (Change("declared"),)
