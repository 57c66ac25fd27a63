"""Sample variables of the page, the reminder and the runbook card, which templates are checked and
previewed against: an incident with a commander gets the usual case, one without (declared by an alert)
the other branches (a level's people reminded, nobody on call, no failure mode matched)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.catalog import Service
from domain.records import Incident
from domain.runbooks import Dashboard, DiagnosisStep, FailureMode
from messages.runbook import Card, Shown
from messages.templating import Mrkdwn
from messages.variables import card_vars, level_vars, mention, page_vars, reminder_vars

AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
_MODE = FailureMode(
    "Checkout Down / 502 Errors",
    symptoms=("502s at the edge",),
    steps=(DiagnosisStep("Check the pods", code="kubectl get pods"),),
    severity="SEV2",
    reference="RB-001",
)


def page(incident: Incident) -> dict[str, Any]:
    """`level` and `person` of a page."""
    return page_vars("L1", "On-call engineer", "U0SAMPLE4")


def reminder(incident: Incident) -> dict[str, Any]:
    """`person`, `level` and `reminder`: the commander, else the first level's people."""
    said = reminder_vars(timedelta(minutes=30), AT, AT + timedelta(minutes=30), AT)
    if incident.commander_id:
        return {"person": mention(incident.commander_id), "level": None, "reminder": said}
    people = Mrkdwn("<@U0SAMPLE4> <@U0SAMPLE5>")
    return {"person": people, "level": level_vars("L1", "On-call engineer"), "reminder": said}


def runbook_card(incident: Incident) -> dict[str, Any]:
    """`service` of a runbook card: matched, owned by a group and on call; or none of that."""
    service = Service(
        name=incident.service or "checkout",
        title="Checkout",
        runbook="checkout.md",
        owner="@payments-team" if incident.commander_id else "",
        dashboards=(Dashboard("Checkout", "https://grafana.example.com/d/checkout"),),
        failure_modes=(_MODE,),
    )
    if incident.commander_id:
        shown = (Shown(0, _MODE, "matched “502s”"),)
        card = Card(service, shown, owner_is_group=True, on_call=("U0SAMPLE4",))
    else:
        card = Card(service, (), title=incident.title)
    return {"service": card_vars(card)}
