"""`/incident followup | followups | reopen`, the follow-up buttons and the due-date form."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from domain.dates import parse_due
from domain.errors import IncidentError
from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.ops import allowed, answer, answered, clicked_number, op, store, store_click
from handlers.replies import quiet
from handlers.workspace import workspace
from messages import followups as templates
from messages.help import error
from runtime.inbox_worker import Job
from services.workspace import WorkspaceServices


@subcommand(
    "followup",
    usage=[("<@owner> <YYYY-MM-DD|+3d|friday> <text>", "Add a follow-up with an owner and a due date")],
)
async def followup(inv: Invocation) -> None:
    """A follow-up of this channel's incident."""
    who, _, rest = inv.args.partition(" ")
    owner = p.parse_mention(who, "followup")
    due_word, _, text = rest.strip().partition(" ")
    try:
        due = parse_due(due_word, inv.ctx.clock.now().date()) if due_word else None
    except ValueError as exc:
        raise p.UsageError(str(exc), "followup") from None
    if due is None:
        raise p.UsageError("When is it due? Give a date, like +3d or friday.", "followup")
    text = p.text_arg(text, "follow-up text", "followup")
    await inv.store("followup", owner=owner.user_id, due=due.isoformat(), text=text)


@answered("followup")
async def run_followup(ctx: WorkspaceServices, job: Job) -> str | None:
    d = job.data
    await allowed(ctx, job, "followup")
    out = await ctx.followups.add(
        job.steps, d["channel"], d["user"], d["owner"], date.fromisoformat(d["due"]), d["text"]
    )
    return quiet(out)


@subcommand(
    "followups",
    usage=[
        ("", "This incident's follow-ups (incident channel)"),
        ("mine", "Your open follow-ups across incidents, overdue first (any channel)"),
    ],
)
async def followups(inv: Invocation) -> None:
    """Read-only: answered after the ack."""
    await inv.ack()
    mine = inv.args.strip().lower() == "mine"

    async def work() -> str | None:
        ctx, today = inv.ctx, inv.ctx.clock.now().date()
        if mine:
            message = templates.followup_list(
                "Your open follow-ups", await ctx.followups.mine(inv.user), today
            )
        else:
            message = templates.followup_list(
                "Follow-ups", await ctx.followups.of_channel(inv.channel), today
            )
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())
        return None

    inv.later(work(), "followups")


@subcommand(
    "reopen", usage=[("<reason>", "Reopen a resolved incident: escalation and reminders start again")]
)
async def reopen(inv: Invocation) -> None:
    """Back to work on a resolved incident."""
    await inv.store("reopen", reason=p.text_arg(inv.args, "reason", "reopen"))


@answered("reopen")
async def run_reopen(ctx: WorkspaceServices, job: Job) -> str | None:
    d = job.data
    await allowed(ctx, job, "reopen")
    return quiet(await ctx.aftercare.reopen(job.steps, d["channel"], d["reason"], d["user"]))


def register(app: AsyncApp) -> None:
    """Attach the follow-up buttons and the due-date form."""

    @app.action(templates.DONE_ACTION)
    async def done(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        number = clicked_number(body)
        if number is not None:
            channel = (body.get("channel") or {}).get("id")
            await store_click(
                workspace(context), body, "followup_done", channel, {"followup": number}, f"ch:{channel}"
            )
        await ack()

    @app.action(templates.DUE_ACTION)
    async def change_due(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        ctx, number = workspace(context), clicked_number(body)
        if number is None:
            return
        try:
            f = await ctx.followups.may_change(number, body["user"]["id"])
        except IncidentError as exc:
            if body.get("response_url"):
                await ctx.slack.respond(body["response_url"], error(str(exc)))
            return
        await ctx.client.views_open(trigger_id=body["trigger_id"], view=templates.due_date_modal(f))

    @app.view(templates.DUE_CALLBACK)
    async def due_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        ctx = workspace(context)
        state = view.get("state", {}).get("values", {})
        picked = (state.get(templates.DUE_BLOCK) or {}).get(templates.DUE_PICKER, {}).get("selected_date")
        try:
            due = parse_due(picked or "", ctx.clock.now().date())
        except ValueError as exc:
            await ack(response_action="errors", errors={templates.DUE_BLOCK: str(exc)})
            return
        number = int(view.get("private_metadata") or 0)
        key = view.get("id") or body.get("trigger_id")
        data = {"user": body["user"]["id"], "followup": number, "due": due.isoformat()}
        # In order with everything else of the follow-up's incident, like its Done button.
        order = f"ch:{await ctx.followups.channel_of(number)}"
        await store(ctx, key and f"view:{key}:{view.get('hash')}", order, "followup_due", data)
        await ack()


async def _may_change(ctx: WorkspaceServices, job: Job) -> bool:
    """The owner or the commander; anyone else hears why not."""
    try:
        await ctx.followups.may_change(job.data["followup"], job.data["user"])
    except IncidentError as exc:
        await answer(ctx, job, error(str(exc)))
        return False
    return True


@op("followup_done")
async def run_followup_done(ctx: WorkspaceServices, job: Job) -> None:
    if await _may_change(ctx, job):
        await ctx.followups.set_done(job.steps, job.data["followup"], True, job.data["user"])


@op("followup_due")
async def run_followup_due(ctx: WorkspaceServices, job: Job) -> None:
    if await _may_change(ctx, job):
        await ctx.followups.change_due(job.steps, job.data["followup"], date.fromisoformat(job.data["due"]))
