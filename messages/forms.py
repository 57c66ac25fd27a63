"""Modals: the declare form."""

from __future__ import annotations

from typing import Any

from domain.severity import Severity

DECLARE_CALLBACK = "declare_incident"
TITLE_BLOCK, TITLE_ACTION = "title", "title_input"
SEVERITY_BLOCK, SEVERITY_ACTION = "severity", "severity_select"
IMPACT_BLOCK, IMPACT_ACTION = "impact", "impact_input"
PRIVATE_BLOCK, PRIVATE_ACTION, PRIVATE_VALUE = "private", "private_input", "private"


def declare_modal(title_max: int, private: bool = False) -> dict[str, Any]:
    """The `/incident declare` form: title, severity, impact, and whether it is private."""
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
        ],
    }
