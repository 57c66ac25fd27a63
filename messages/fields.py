"""A team's own fields in Slack: an incident's list, the note a change posts, the lines `/incident status`
shows, and the inputs of the declare and resolve forms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from config.custom_fields import CustomField
from domain.fields import MAX_TEXT, Value, shown
from domain.records import Incident
from messages.blocks import Block, Message, context, header, section, truncate
from messages.text import escape, link, plain

FIELD_ACTION = "field_value"
RESOLVE_CALLBACK = "resolve_with_fields"
SUMMARY_BLOCK, SUMMARY_ACTION = "summary", "summary_input"
MAX_VALUE = 300  # how much of a value a line shows
KINDS = {
    "select": "one of its options",
    "multi_select": "options, comma-separated",
    "text": "text",
    "number": "a number",
    "user": "@person",
    "link": "an http(s) link",
}
ELEMENTS = {
    "select": "static_select",
    "multi_select": "multi_static_select",
    "text": "plain_text_input",
    "number": "number_input",
    "user": "users_select",
    "link": "url_text_input",
}


def block_id(field: CustomField) -> str:
    """The form input of a field."""
    return f"field_{field.name}"


def value_mrkdwn(field: CustomField, value: Value | None) -> str:
    """A value as Slack shows it: a person as a mention, a link linked, anything typed made inert."""
    words = shown(field.type, value)
    if words is None:
        return "_not set_"
    if field.type == "user":
        return f"<@{words}>"
    if field.type == "link":
        return link(words, escape(truncate(words, MAX_VALUE)))
    return escape(truncate(words, MAX_VALUE))


def value_text(field: CustomField, value: Value | None) -> str:
    """A value for the timeline (kept as written; escaped where it is shown): a person as `<@U…>`."""
    words = shown(field.type, value)
    if words is None:
        return "none"
    return f"<@{words}>" if field.type == "user" else truncate(words, MAX_VALUE)


def change_text(field: CustomField, before: Value | None, after: Value | None) -> str:
    """The timeline's words for one change: `Region set to EU (was US)`, `Region cleared (was US)`."""
    was = f" (was {value_text(field, before)})" if shown(field.type, before) is not None else ""
    if shown(field.type, after) is None:
        return f"{field.title} cleared{was}"
    return f"{field.title} set to {value_text(field, after)}{was}"


def changed(by: str, changes: Sequence[tuple[CustomField, Value | None, Value | None]]) -> Message:
    """The channel's note: who set which field to what (and what it was)."""
    lines = []
    for field, before, after in changes:
        was = f" (was {value_mrkdwn(field, before)})" if shown(field.type, before) is not None else ""
        if shown(field.type, after) is None:
            lines.append(f"*{escape(field.title)}* cleared{was}")
        else:
            lines.append(f"*{escape(field.title)}* set to {value_mrkdwn(field, after)}{was}")
    text = f":label: <@{by}> " + ("; ".join(lines) if len(lines) == 1 else "set:\n• " + "\n• ".join(lines))
    return Message(text=truncate(text, 3000), blocks=[section(text)])


def shown_lines(
    fields: Sequence[CustomField], values: Mapping[str, Value], where: str, *, unset: bool = False
) -> list[str]:
    """`*Region*: EU` for each field shown at `where` (`initial`, `announcement`, `status`) that is
    set (every one with `unset`)."""
    return [
        f"*{escape(f.title)}*: {value_mrkdwn(f, values.get(f.name))}"
        for f in fields
        if where in f.show and (unset or shown(f.type, values.get(f.name)) is not None)
    ]


def field_list(incident: Incident, fields: Sequence[CustomField], values: Mapping[str, Value]) -> Message:
    """`/incident set` alone: every field, what it takes, and its value."""
    if not fields:
        return Message(text="No fields are set up: `[[fields]]` in the policy file adds them.")
    lines = []
    for f in fields[:40]:
        needed = {"declare": " · required to declare", "resolve": " · required to resolve"}.get(
            f.required or "", ""
        )
        takes = KINDS[f.type]
        if f.options:
            takes = ", ".join(f"`{escape(o)}`" for o in f.options[:20]) + ("…" if len(f.options) > 20 else "")
        lines.append(
            f"*{escape(f.title)}* (`{f.name}`: {takes}{needed}): {value_mrkdwn(f, values.get(f.name))}"
        )
    body = truncate("\n".join(lines), 3000)
    return Message(
        text=f"Fields of {incident.ref}",
        blocks=[
            header(f"Fields of {incident.ref}"),
            section(body),
            context("`/incident set <field> <value>` sets one; `none` clears it"),
        ],
    )


def _option(text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": plain(text)[:75] or "-"}, "value": text[:150]}


def field_input(field: CustomField, required: bool) -> Block:
    """The form's input for a field, of its type; optional unless `required`."""
    kind = ELEMENTS[field.type]
    element: dict[str, Any] = {"type": kind, "action_id": FIELD_ACTION}
    if field.type in ("select", "multi_select"):
        element["options"] = [_option(o) for o in field.options[:100]]
    elif field.type == "text":
        element["max_length"] = MAX_TEXT
    elif field.type == "number":
        element["is_decimal_allowed"] = True
    if field.type in ("select", "multi_select", "user"):
        element["placeholder"] = {"type": "plain_text", "text": "Choose…"}
    return {
        "type": "input",
        "block_id": block_id(field),
        "optional": not required,
        "label": {"type": "plain_text", "text": plain(field.title)[:2000]},
        "element": element,
    }


def resolve_modal(incident: Incident, summary: str, missing: Sequence[CustomField]) -> dict[str, Any]:
    """Resolve with the fields it still needs: the summary, then an input per missing field."""
    summary_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": SUMMARY_ACTION,
        "multiline": True,
        "max_length": 2900,
    }
    if summary:
        summary_input["initial_value"] = summary[:2900]
    needed = ", ".join(f.title for f in missing)
    return {
        "type": "modal",
        "callback_id": RESOLVE_CALLBACK,
        "private_metadata": incident.channel_id or "",
        "title": {"type": "plain_text", "text": f"Resolve {incident.ref}"[:24]},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(truncate(f"To resolve {incident.ref}, set {escape(needed)}.", 3000)),
            {
                "type": "input",
                "block_id": SUMMARY_BLOCK,
                "label": {"type": "plain_text", "text": "Summary"},
                "element": summary_input,
            },
            *(field_input(f, required=True) for f in missing[:90]),
        ],
    }


def missing_text(missing: Sequence[CustomField], ref: str) -> str:
    """Why a resolve opened a form instead."""
    names = ", ".join(f"*{escape(f.title)}* (`{f.name}`)" for f in missing)
    return (
        f":pencil: {ref} needs {names} before it is resolved: fill them in the form that opened, or "
        "`/incident set <field> <value>` first."
    )
