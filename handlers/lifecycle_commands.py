"""`/incident help | declare | update | resolve`."""

from __future__ import annotations

from domain.severity import Severity, Status
from handlers import parse as p
from handlers.commands import Invocation, commands, subcommand
from handlers.ops import allowed, answered
from handlers.replies import quiet, warnings_text
from handlers.update_typos import ask
from messages.forms import declare_modal
from messages.help import help_message
from runtime.inbox_worker import Job
from runtime.journal import Steps, once
from services.workspace import WorkspaceServices


@subcommand("help", usage=[("", "This list")])
async def help_(inv: Invocation) -> None:
    """Every command with its syntax, ephemeral."""
    await inv.ack(**help_message(commands()).kwargs())


@subcommand(
    "declare",
    usage=[
        ("<sev1|sev2|sev3|sev4> <title>", "Open an incident channel, make you commander, announce it"),
        ("--private <sev1|sev2|sev3|sev4> <title>", "Same, in a private channel, announced without details"),
        ("", "Same, through a form (title, severity, impact, private)"),
    ],
)
async def declare(inv: Invocation) -> None:
    """Declare from arguments, or open the form when there are none."""
    cmd = p.parse_declare(inv.args)
    if cmd is None:
        await inv.ack()
        form = declare_modal(p.MAX_TITLE, private=p.private_flag(inv.args)[0])
        inv.ctx.tasks.spawn(
            inv.ctx.client.views_open(trigger_id=inv.trigger_id, view=form), name="open-declare-modal"
        )
        return
    kind = "private " if cmd.private else ""
    await inv.store(
        "declare",
        f"Declaring a {kind}{cmd.severity.value} incident: {cmd.title} …",
        severity=cmd.severity.value,
        title=cmd.title,
        private=cmd.private,
    )


@answered("declare")
async def run_declare(ctx: WorkspaceServices, job: Job) -> str:
    """Declare from a command or the form; the answer says where."""
    d = job.data
    await allowed(ctx, job, "declare")
    return await declare_reply(
        ctx,
        job.steps,
        Severity(d["severity"]),
        d["title"],
        d["user"],
        d.get("impact"),
        d.get("private", False),
    )


@subcommand(
    "update",
    usage=[
        (
            "[investigating|identified|mitigating|monitoring] <text>",
            "Post a status update (incident channel); a mistyped status is asked about first",
        )
    ],
)
async def update(inv: Invocation) -> None:
    """Post a status update in the incident channel (after asking, when the first word looks like a
    mistyped status)."""
    cmd = p.parse_update(inv.args)
    if cmd.looks_like:
        await ask(inv, cmd)
        return
    await inv.store("update", status=cmd.status.value if cmd.status else None, text=cmd.text)


@answered("update")
async def run_update(ctx: WorkspaceServices, job: Job) -> str | None:
    d = job.data
    await allowed(ctx, job, "update")
    status = Status(d["status"]) if d.get("status") else None
    return quiet(await ctx.lifecycle.update(job.steps, d["channel"], d["user"], status, d["text"]))


@subcommand(
    "resolve", usage=[("<summary>", "Resolve the incident and post the follow-ups (incident channel)")]
)
async def resolve(inv: Invocation) -> None:
    """Resolve the incident of this channel."""
    await inv.store("resolve", summary=p.parse_resolve(inv.args))


@answered("resolve")
async def run_resolve(ctx: WorkspaceServices, job: Job) -> str | None:
    d = job.data
    await allowed(ctx, job, "resolve")
    said = quiet(await ctx.lifecycle.resolve(job.steps, d["channel"], d["user"], d["summary"]))
    await once(job.steps, "statuspage_offer", lambda: ctx.statuspage.offer_resolve(d["channel"]))
    return said


async def declare_reply(
    ctx: WorkspaceServices,
    steps: Steps,
    severity: Severity,
    title: str,
    user: str,
    impact: str | None,
    private: bool = False,
) -> str:
    """Declare, then say where (and what went wrong on the way, if anything)."""
    out = await ctx.lifecycle.declare(steps, severity, title, user, impact, private)
    inc = out.incident
    kind = "Private " if inc.private else ""
    return (
        f"{kind}{inc.severity} incident {inc.ref} declared in <#{inc.channel_id}>; you are the commander."
        + (warnings_text(out.warnings))
    )
