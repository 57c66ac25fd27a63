"""Modal submissions: the declare form."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from domain.severity import Severity
from handlers import parse as p
from handlers.ops import store
from handlers.workspace import workspace
from messages import forms as f


def _value(state: dict[str, Any], block: str, action: str) -> Any:
    return (state.get(block) or {}).get(action) or {}


def register(app: AsyncApp) -> None:
    """Attach the declare-form submission listener."""

    @app.view(f.DECLARE_CALLBACK)
    async def declare_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        state = view.get("state", {}).get("values", {})
        errors: dict[str, str] = {}
        title = ""
        try:
            title = p.title_of(_value(state, f.TITLE_BLOCK, f.TITLE_ACTION).get("value") or "")
        except p.UsageError as exc:
            errors[f.TITLE_BLOCK] = exc.problem
        option = _value(state, f.SEVERITY_BLOCK, f.SEVERITY_ACTION).get("selected_option") or {}
        severity = Severity.parse(option.get("value") or "")
        if severity is None:
            errors[f.SEVERITY_BLOCK] = "Pick a severity."
        impact = (_value(state, f.IMPACT_BLOCK, f.IMPACT_ACTION).get("value") or "").strip()
        if len(impact) > p.MAX_TEXT:
            errors[f.IMPACT_BLOCK] = f"Keep the impact under {p.MAX_TEXT} characters."
        if errors or severity is None:
            await ack(response_action="errors", errors=errors)
            return
        # A form has no response_url: the declarer hears back in their DM with the bot.
        key = body.get("trigger_id") or view.get("id")
        chosen = _value(state, f.PRIVATE_BLOCK, f.PRIVATE_ACTION).get("selected_options") or []
        data = {
            "user": body["user"]["id"],
            "severity": severity.value,
            "title": title,
            "impact": impact or None,
            "private": any(o.get("value") == f.PRIVATE_VALUE for o in chosen),
        }
        await store(workspace(context), key and f"view:{key}", f"new:{key}", "declare", data)
        await ack()
