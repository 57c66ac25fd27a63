"""The request bodies Slack sends to an app: slash commands, Events API callbacks and interactions."""

from __future__ import annotations

import base64
import json
from typing import Any

from slack_emulator.models import APP_ID, Channel
from slack_emulator.render import Button, Checkboxes
from slack_emulator.state import Workspace

VERIFICATION_TOKEN = "emulated-verification-token"
_SELECTED = {
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


def user_ref(ws: Workspace, user_id: str) -> dict[str, Any]:
    """The `user` object of an interaction payload."""
    name = ws.user_name(user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": ws.team_id}


def team_ref(ws: Workspace) -> dict[str, Any]:
    """The `team` object of an interaction payload (with the org's id and name on Enterprise Grid)."""
    team: dict[str, Any] = {"id": ws.team_id, "domain": ws.domain}
    if ws.enterprise:
        team.update(enterprise_id=ws.enterprise["id"], enterprise_name=ws.enterprise["name"])
    return team


def authorization(ws: Workspace) -> dict[str, Any]:
    """The app installation an Events API callback is delivered for: the workspace's bot user."""
    return {
        "enterprise_id": ws.enterprise_id,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "is_bot": True,
        "is_enterprise_install": False,
    }


def channel_type(ch: Channel) -> str:
    """The Events API channel_type."""
    return "im" if ch.is_im else "group" if ch.is_private else "channel"


def channel_name(ch: Channel) -> str:
    """The channel name Slack puts in slash commands and interactions."""
    return "directmessage" if ch.is_im else "privategroup" if ch.is_private else ch.name


def command_form(
    ws: Workspace, user_id: str, ch: Channel, command: str, text: str, response_url: str, trigger_id: str
) -> dict[str, str]:
    """A slash command's form fields."""
    form = {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "team_domain": ws.domain,
        "channel_id": ch.id,
        "channel_name": channel_name(ch),
        "user_id": user_id,
        "user_name": ws.user_name(user_id),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    if ws.enterprise:
        form.update(enterprise_id=ws.enterprise["id"], enterprise_name=ws.enterprise["name"])
    return form


def event_envelope(
    event: dict[str, Any], event_id: str, event_time: int, ws: Workspace | None = None
) -> dict[str, Any]:
    """The Events API `event_callback` envelope around one event (ws None: the default workspace)."""
    ws = ws or Workspace()
    context = base64.b64encode(json.dumps({"team": ws.team_id, "app": APP_ID}).encode()).decode()
    envelope: dict[str, Any] = {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "context_team_id": ws.team_id,
        "context_enterprise_id": ws.enterprise_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [authorization(ws)],
        "is_ext_shared_channel": False,
        "event_context": f"4-{context}",
    }
    if ws.enterprise_id:
        envelope["enterprise_id"] = ws.enterprise_id
    return envelope


def message_event(ws: Workspace, ch: Channel, message: dict[str, Any]) -> dict[str, Any]:
    """A `message` event for a stored message's JSON."""
    return {**message, "channel": ch.id, "event_ts": message["ts"], "channel_type": channel_type(ch)}


def member_joined_event(ws: Workspace, ch: Channel, user_id: str, inviter: str | None) -> dict[str, Any]:
    """A `member_joined_channel` event (channel_type `C` public, `G` private; `inviter` when invited)."""
    event = {
        "type": "member_joined_channel",
        "user": user_id,
        "channel": ch.id,
        "channel_type": "G" if ch.is_private else "C",
        "team": ws.team_id,
        "event_ts": ws.next_ts(),
    }
    return event | ({"inviter": inviter} if inviter else {})


def block_actions(
    ws: Workspace,
    user_id: str,
    ch: Channel,
    message: dict[str, Any],
    button: Button,
    response_url: str,
    trigger_id: str,
    action_ts: str,
    is_ephemeral: bool,
) -> dict[str, Any]:
    """A block_actions payload for a button click on a message."""
    action: dict[str, Any] = {
        "action_id": button.action_id,
        "block_id": button.block_id,
        "text": {"type": "plain_text", "text": button.text, "emoji": True},
        "type": "button",
        "action_ts": action_ts,
    }
    for key in ("value", "style", "url"):
        if getattr(button, key) is not None:
            action[key] = getattr(button, key)
    return _interaction(ws, user_id, ch, message, action, response_url, trigger_id, is_ephemeral, {})


def checkbox_actions(
    ws: Workspace,
    user_id: str,
    ch: Channel,
    message: dict[str, Any],
    box: Checkboxes,
    selected: list[dict[str, Any]],
    response_url: str,
    trigger_id: str,
    action_ts: str,
    is_ephemeral: bool,
) -> dict[str, Any]:
    """A block_actions payload for ticking or unticking a checkboxes element: its options now selected,
    in the action and in the message's state."""
    action = {
        "type": "checkboxes",
        "action_id": box.action_id,
        "block_id": box.block_id,
        "selected_options": selected,
        "action_ts": action_ts,
    }
    state = {box.block_id: {box.action_id: {"type": "checkboxes", "selected_options": selected}}}
    return _interaction(ws, user_id, ch, message, action, response_url, trigger_id, is_ephemeral, state)


def _interaction(
    ws: Workspace,
    user_id: str,
    ch: Channel,
    message: dict[str, Any],
    action: dict[str, Any],
    response_url: str,
    trigger_id: str,
    is_ephemeral: bool,
    state: dict[str, Any],
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": ch.id,
        "is_ephemeral": is_ephemeral,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_ref(ws, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": team_ref(ws),
        "enterprise": ws.enterprise,
        "is_enterprise_install": False,
        "channel": {"id": ch.id, "name": channel_name(ch)},
        "state": {"values": state},
        "response_url": response_url,
        "actions": [action],
    }
    if not is_ephemeral:
        payload["message"] = message
    return payload


def view_submission(ws: Workspace, user_id: str, view: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    """A view_submission payload (view must already carry state.values)."""
    return {
        "type": "view_submission",
        "team": team_ref(ws),
        "user": user_ref(ws, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": ws.enterprise,
    }


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    groups = [o for g in element.get("option_groups") or [] for o in g.get("options") or []]
    return [*(element.get("options") or []), *groups]


def _option(element: dict[str, Any], value: Any, where: str) -> dict[str, Any]:
    if element["type"] == "external_select" or "multi_external" in element["type"]:
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    for option in _options(element):
        if option.get("value") == value:
            return option
    choices = [o.get("value") for o in _options(element)]
    raise ValueError(f"{where}: {value!r} is not one of the options {choices}")


def element_state(element: dict[str, Any], value: Any, where: str) -> dict[str, Any]:
    """One input's entry in view.state.values, as Slack shapes it for that element type."""
    kind = element["type"]
    state: dict[str, Any] = {"type": kind}
    if kind in ("static_select", "external_select", "radio_buttons"):
        state["selected_option"] = None if value is None else _option(element, value, where)
    elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        state["selected_options"] = [_option(element, v, where) for v in value or []]
    elif kind in _SELECTED:
        state[_SELECTED[kind]] = value
    else:
        state["value"] = None if value is None else str(value)
    return state


def state_values(
    blocks: list[dict[str, Any]], values: dict[str, Any], *, enforce_required: bool = True
) -> dict[str, Any]:
    """Slack's view.state.values from {block_id: {action_id: value}} (or {block_id: value}).

    Raises ValueError for unknown blocks or options, and (with enforce_required) for required inputs
    left empty, which Slack's client would not let the user submit.
    """
    out: dict[str, Any] = {}
    inputs = [b for b in blocks if b.get("type") == "input"]
    unknown = set(values) - {b.get("block_id") for b in inputs}
    if unknown:
        raise ValueError(f"no input blocks {sorted(unknown)} in the view")
    for index, block in enumerate(inputs):
        block_id = block.get("block_id") or f"input_{index}"
        element = block.get("element") or {}
        action_id = element.get("action_id") or f"{block_id}_action"
        given = values.get(block_id)
        if isinstance(given, dict):
            if set(given) - {action_id}:
                raise ValueError(f"block {block_id} has one element, {action_id!r}, not {sorted(given)}")
            given = given.get(action_id)
        if enforce_required and given in (None, "", []) and not block.get("optional"):
            raise ValueError(f"input {block_id!r} is required: Slack would not let the user submit")
        out[block_id] = {action_id: element_state(element, given, f"{block_id}.{action_id}")}
    return out
