"""Declaring an incident: `/incident declare [--private] [--service <name>] <sev> <title>`, and the
declare form."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from slack_bolt.async_app import AsyncAck, AsyncApp

from config.permissions import Permission
from config.policy import Policy
from domain.catalog import Catalog
from domain.severity import Severity
from handlers import parse as p
from handlers.fields import FieldValues, read_fields
from handlers.replies import warnings_text
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from messages import forms as f
from runtime import keys
from runtime.ops import Asked, Intake, Job
from runtime.slack_ops import SlackOps
from services.catalog import ServiceCatalog
from services.fields import missing
from services.lifecycle import Lifecycle

USAGE = [
    ("<sev1|sev2|sev3|sev4> <title>", "Open an incident channel, make you commander, announce it"),
    ("--private <sev1|sev2|sev3|sev4> <title>", "Same, in a private channel, announced without details"),
    ("--service <name> <sev1|sev2|sev3|sev4> <title>", "Same, for a service: its escalation and runbook"),
    ("", "Same, through a form (title, severity, impact, private, service)"),
]


class Declare(Asked):
    """A declaration, from the command (`trigger_id`) or the form (`view_id`): its own order key,
    since its channel does not exist yet."""

    OP = "declare"
    severity: Severity
    title: str
    impact: str | None = None
    private: bool = False
    service: str | None = None
    fields: FieldValues = Field(default_factory=dict)
    command: str = ""
    trigger_id: str | None = None
    view_id: str | None = None

    def order_key(self) -> str:
        return keys.new_incident(self.view_id or self.trigger_id)

    def idem_key(self) -> str | None:
        return keys.form(self.view_id) if self.view_id else keys.command(self.trigger_id)

    def what(self) -> str:
        return f"carry out `/incident {self.command}`" if self.command else f"declare “{self.title}”"


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The subcommand, the form's submission, and the op both store."""
    wiring.subcommands.add("declare", handler=declare, usage=USAGE)
    wiring.answered(Declare, run_declare, Permission.DECLARE)
    app.view(f.DECLARE_CALLBACK)(declare_submitted)


async def declare(inv: Invocation, slack: SlackOps, catalog: ServiceCatalog, policy: Policy) -> None:
    """Declare from arguments, or open the form when there are none (the only way to give the fields
    required to declare)."""
    flags = p.declare_flags(inv.args)
    if flags.service is not None:
        known_service(catalog.current, flags.service)
    cmd = p.parse_declare(inv.args)
    if cmd is None:
        await inv.ack()
        names = catalog.current.names
        form = f.declare_modal(
            p.MAX_TITLE, private=flags.private, services=names, service=flags.service, fields=policy.fields
        )
        inv.tasks.spawn(slack.open_form(inv.trigger_id or "", form), name="open-declare-modal")
        return
    needed = missing(policy, {}, "declare")
    if needed:
        names = ", ".join(f"{field.title} (`{field.name}`)" for field in needed)
        raise p.UsageError(
            f"Declaring needs {names}: `/incident declare` with no arguments opens the form that asks "
            "for them. Nothing was declared.",
            "declare",
        )
    kind = "private " if cmd.private else ""
    request = Declare(
        **inv.asked(), severity=cmd.severity, title=cmd.title, private=cmd.private, service=cmd.service
    )
    of = f" for {cmd.service}" if cmd.service else ""
    await inv.store(request, f"Declaring a {kind}{cmd.severity.value} incident{of}: {cmd.title} …")


def known_service(catalog: Catalog, name: str) -> str:
    """`name` when the catalog has it; else a refusal naming the closest known name and the list."""
    if catalog.get(name) is not None:
        return name
    if not catalog:
        raise p.UsageError(
            f"There is no service `{name}`: no services are set up (`[[services]]` in the policy file). "
            "Nothing was declared.",
            "declare",
        )
    near = catalog.closest(name)
    guess = f" Did you mean `{near}`?" if near else ""
    names = ", ".join(f"`{n}`" for n in catalog.names)
    raise p.UsageError(
        f"There is no service `{name}`.{guess} Known services: {names}. Nothing was declared.", "declare"
    )


async def declare_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    intake: Intake,
    catalog: ServiceCatalog,
    policy: Policy,
) -> None:
    """The form: its errors shown in place, or the declaration stored (answered by DM: a form has
    no response_url)."""
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
    in_form = _value(state, f.SERVICE_BLOCK, f.SERVICE_ACTION).get("selected_option") or {}
    picked = str(in_form.get("value") or f.NO_SERVICE)
    service = None if picked == f.NO_SERVICE else catalog.get(picked)
    if picked != f.NO_SERVICE and service is None:
        errors[f.SERVICE_BLOCK] = f"There is no service “{picked[:40]}” any more: pick another, or none."
    required = [field for field in policy.fields if field.required == "declare"]
    values, wrong = read_fields(state, policy.fields, required)
    errors.update(wrong)
    if errors or severity is None:
        await ack(response_action="errors", errors=errors)
        return
    chosen = _value(state, f.PRIVATE_BLOCK, f.PRIVATE_ACTION).get("selected_options") or []
    request = Declare(
        user=body["user"]["id"],
        severity=severity,
        title=title,
        impact=impact or None,
        private=any(o.get("value") == f.PRIVATE_VALUE for o in chosen),
        service=service.name if service else None,
        fields=values,
        view_id=body.get("trigger_id") or view.get("id"),
    )
    await intake.keep(request)
    await ack()


async def run_declare(job: Job[Declare], lifecycle: Lifecycle) -> str:
    """Declare, then say where (and what went wrong on the way, if anything)."""
    r = job.request
    out = await lifecycle.declare(
        job.steps, r.severity, r.title, r.user, r.impact, r.private, service=r.service, fields=r.fields
    )
    inc = out.incident
    kind = "Private " if inc.private else ""
    return (
        f"{kind}{inc.severity} incident {inc.ref} declared in <#{inc.channel_id}>; you are the commander."
        + warnings_text(out.warnings)
    )


def _value(state: dict[str, Any], block: str, action: str) -> Any:
    return (state.get(block) or {}).get(action) or {}
