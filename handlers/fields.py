"""A team's own fields: `/incident set <field> <value>`, the list of them, and the resolve form opened
when a field is required to resolve; the fields' inputs of the declare form are read here too."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from config.custom_fields import CustomField
from config.permissions import Permission
from config.policy import Policy
from domain.errors import IncidentError
from domain.fields import FieldValueError, Value, parse
from domain.spelling import closest
from handlers import parse as p
from handlers.replies import quiet
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from messages import fields as templates
from runtime import keys
from runtime.journal import once
from runtime.ops import Asked, Command, Intake, Job
from runtime.slack_ops import SlackOps
from services.fields import Fields
from services.lifecycle import Lifecycle
from services.statuspage import StatuspageService

USAGE = [
    ("<field> <value>", "Set one of this incident's own fields (`none` clears it; a person as `@person`)"),
    ("", "This incident's fields, what each takes, and their values"),
]
CLEAR = ("none", "-")
_LINK = re.compile(r"^<(https?://[^|<>\s]+)(?:\|[^<>]*)?>$")

FieldValues = dict[str, str | float | list[str]]


class SetField(Command):
    """A field of the channel's incident set to a checked value (None: cleared)."""

    OP = "set_field"
    channel: str
    name: str
    value: str | float | list[str] | None = None


class ResolveWithFields(Asked):
    """The resolve form: the fields it asked for, then the resolution, in order with the channel."""

    OP = "resolve_form"
    channel: str
    summary: str
    values: FieldValues
    view_id: str | None = None

    def order_key(self) -> str:
        return keys.channel(self.channel)

    def idem_key(self) -> str | None:
        return keys.form(self.view_id)

    def what(self) -> str:
        return "resolve the incident from the form"


def register(app: AsyncApp, wiring: Wiring) -> None:
    """`set`, its op, and the resolve form's submission and op."""
    wiring.subcommands.add("set", handler=set_field, usage=USAGE)
    wiring.answered(SetField, run_set, Permission.FIELDS)
    wiring.answered(ResolveWithFields, run_resolve_form, Permission.RESOLVE)
    app.view(templates.RESOLVE_CALLBACK)(resolve_submitted)


def lookup(fields: Sequence[CustomField], word: str) -> CustomField:
    """The field a person named (by name or label, any case); else the closest and the list."""
    wanted = word.strip().lower()
    found = next((f for f in fields if wanted in (f.name, f.title.lower())), None)
    if found is not None:
        return found
    if not fields:
        raise p.UsageError("No fields are set up: `[[fields]]` in the policy file adds them.", "set")
    near = closest(wanted, [f.name for f in fields])
    guess = f" Did you mean `{near}`?" if near else ""
    names = ", ".join(f"`{f.name}`" for f in fields)
    raise p.UsageError(f"There is no field `{word[:40]}`.{guess} Fields: {names}.", "set")


def value_of(field: CustomField, raw: str) -> Value:
    """A typed value checked against the field's type; a refusal saying what it takes."""
    text = raw.strip()
    if field.type == "link" and (wrapped := _LINK.match(text)):
        text = wrapped.group(1)  # Slack sends a pasted link as <url> or <url|label>
    try:
        return parse(field.type, field.options, text)
    except FieldValueError as exc:
        raise p.UsageError(f"{field.title}: {exc}", "set") from None


async def set_field(inv: Invocation, policy: Policy, fields: Fields) -> None:
    """Set a field of this channel's incident, or list them all."""
    word, _, raw = inv.args.strip().partition(" ")
    if not word:
        await inv.ack()

        async def work() -> None:
            incident, values = await fields.of_channel(inv.channel)
            message = templates.field_list(incident, policy.fields, values)
            await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

        inv.later(work(), "fields")
        return
    field = lookup(policy.fields, word)
    if not raw.strip():
        takes = ", ".join(f"`{o}`" for o in field.options) if field.options else templates.KINDS[field.type]
        raise p.UsageError(f"Give a value for {field.title}: {takes}. `none` clears it.", "set")
    value: Value | None
    if raw.strip().lower() in CLEAR:
        if field.required:
            raise p.UsageError(
                f"{field.title} is required to {field.required}: it can be changed, not cleared.", "set"
            )
        value = None
    else:
        value = value_of(field, raw)
    await inv.store(SetField(**inv.asked(), name=field.name, value=value))


async def run_set(job: Job[SetField], fields: Fields) -> str | None:
    r = job.request
    return quiet(await fields.set(job.steps, r.channel, r.user, {r.name: r.value}))


# Forms


def read_fields(
    state: dict[str, Any], fields: Sequence[CustomField], required: Sequence[CustomField] = ()
) -> tuple[FieldValues, dict[str, str]]:
    """The fields' values in a submitted form and, by input, what is wrong with them (a required one
    left empty, a value the field does not take)."""
    values: FieldValues = {}
    errors: dict[str, str] = {}
    for field in fields:
        block = templates.block_id(field)
        if block not in state:
            continue
        entry = (state.get(block) or {}).get(templates.FIELD_ACTION) or {}
        try:
            value = _entry_value(field, entry)
        except FieldValueError as exc:
            errors[block] = str(exc)[:150]
            continue
        if value is not None:
            values[field.name] = value
        elif field in required:
            errors[block] = f"{field.title[:60]} is required."
    return values, errors


def _entry_value(field: CustomField, entry: dict[str, Any]) -> Value | None:
    if field.type == "select":
        chosen = (entry.get("selected_option") or {}).get("value")
        return parse("select", field.options, chosen) if chosen else None
    if field.type == "multi_select":
        picked = [o.get("value") or "" for o in entry.get("selected_options") or []]
        return [str(parse("select", field.options, o)) for o in picked if o] or None
    if field.type == "user":
        user = entry.get("selected_user")
        return parse("user", (), f"<@{user}>") if user else None
    text = (entry.get("value") or "").strip()
    return parse(field.type, field.options, text) if text else None


async def open_resolve_form(inv: Invocation, slack: SlackOps, fields: Fields, summary: str) -> bool:
    """When the channel's incident lacks a field required to resolve: say which, open the form with
    the summary and those fields, and return True."""
    incident, needed = await fields.missing_to_resolve(inv.channel)
    if incident is None or not needed:
        return False
    await inv.ack(text=templates.missing_text(needed, incident.ref))
    form = templates.resolve_modal(incident, summary, needed)
    inv.tasks.spawn(slack.open_form(inv.trigger_id or "", form), name="open-resolve-modal")
    return True


async def resolve_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], intake: Intake, policy: Policy
) -> None:
    """The resolve form: errors in place, or the fields and the resolution kept as one request."""
    state = view.get("state", {}).get("values", {})
    asked = [f for f in policy.fields if templates.block_id(f) in state]
    values, errors = read_fields(state, asked, required=asked)
    raw = ((state.get(templates.SUMMARY_BLOCK) or {}).get(templates.SUMMARY_ACTION) or {}).get("value")
    try:
        summary = p.parse_resolve(raw or "")
    except p.UsageError as exc:
        errors[templates.SUMMARY_BLOCK] = exc.problem
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    request = ResolveWithFields(
        user=body["user"]["id"],
        channel=view.get("private_metadata") or "",
        summary=summary,
        values=values,
        view_id=view.get("id") or body.get("trigger_id"),
    )
    await intake.keep(request)
    await ack()


async def run_resolve_form(
    job: Job[ResolveWithFields], fields: Fields, lifecycle: Lifecycle, statuspage: StatuspageService
) -> str | None:
    """Set the fields, then resolve (a retry resumes where it stopped)."""
    r = job.request
    if not job.steps.recorded("field_record")[0]:
        incident, _ = await fields.of_channel(r.channel)
        if not incident.is_open:
            raise IncidentError(f"{incident.ref} is already resolved; nothing was changed.")
    set_out = await fields.set(job.steps, r.channel, r.user, r.values, batch=True)
    if not job.steps.recorded("record")[0]:  # a field the form did not ask for may be required since
        await fields.require_to_resolve(r.channel)
    out = await lifecycle.resolve(job.steps, r.channel, r.user, r.summary)
    out.warnings[:0] = set_out.warnings
    await once(job.steps, "statuspage_offer", lambda: statuspage.offer_resolve(r.channel))
    return quiet(out)
