"""Modals: the declare form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config.custom_fields import CustomField
from domain.severity import Severity
from messages.fields import field_input
from messages.text import plain

DECLARE_CALLBACK = "declare_incident"
TITLE_BLOCK, TITLE_ACTION = "title", "title_input"
SEVERITY_BLOCK, SEVERITY_ACTION = "severity", "severity_select"
IMPACT_BLOCK, IMPACT_ACTION = "impact", "impact_input"
PRIVATE_BLOCK, PRIVATE_ACTION, PRIVATE_VALUE = "private", "private_input", "private"
SERVICE_BLOCK, SERVICE_ACTION, NO_SERVICE = "service", "service_select", "-"
MAX_OPTIONS = 100  # a static_select's options


def service_select(services: Sequence[str], chosen: str | None = None) -> dict[str, Any]:
    """The form's optional Service input: "No service" or one of the workspace's services."""
    options = [_option("No service", NO_SERVICE)] + [_option(name, name) for name in services]
    options = options[:MAX_OPTIONS]
    element: dict[str, Any] = {"type": "static_select", "action_id": SERVICE_ACTION, "options": options}
    initial = next((o for o in options if chosen and o["value"] == chosen), None)
    element["initial_option"] = initial or options[0]
    return {
        "type": "input",
        "block_id": SERVICE_BLOCK,
        "optional": True,
        "label": {"type": "plain_text", "text": "Service"},
        "hint": {"type": "plain_text", "text": "Its on-call schedule, escalation path, runbook and experts"},
        "element": element,
    }


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": plain(text)[:75]}, "value": value}


def declare_modal(
    title_max: int,
    private: bool = False,
    services: Sequence[str] = (),
    service: str | None = None,
    fields: Sequence[CustomField] = (),
) -> dict[str, Any]:
    """The `/incident declare` form: title, severity, impact, whether it is private, (when the
    workspace has services) which service, `service` preselected, and the team's own fields (those
    required to declare not optional)."""
    private_option = {
        "text": {"type": "plain_text", "text": "Private incident"},
        "description": {
            "type": "plain_text",
            "text": "A private channel; the announcement names no title, impact or channel",
        },
        "value": PRIVATE_VALUE,
    }
    checkboxes: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": PRIVATE_ACTION,
        "options": [private_option],
    }
    if private:
        checkboxes["initial_options"] = [private_option]
    options = [
        {
            "text": {"type": "plain_text", "text": f"{sev.value} · {sev.label}"},
            "description": {"type": "plain_text", "text": sev.description[:75]},
            "value": sev.key,
        }
        for sev in Severity
    ]
    service_blocks = [service_select(services, service)] if services else []
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": TITLE_BLOCK,
                "label": {"type": "plain_text", "text": "Title"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": TITLE_ACTION,
                    "max_length": title_max,
                    "placeholder": {"type": "plain_text", "text": "Checkout API returns 500s in EU"},
                },
            },
            {
                "type": "input",
                "block_id": SEVERITY_BLOCK,
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {"type": "static_select", "action_id": SEVERITY_ACTION, "options": options},
            },
            *service_blocks,
            {
                "type": "input",
                "block_id": IMPACT_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Impact"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": IMPACT_ACTION,
                    "multiline": True,
                    "max_length": 2000,
                    "placeholder": {"type": "plain_text", "text": "Who is affected, and how?"},
                },
            },
            {
                "type": "input",
                "block_id": PRIVATE_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Visibility"},
                "element": checkboxes,
            },
            *(field_input(field, required=field.required == "declare") for field in fields[:90]),
        ],
    }
