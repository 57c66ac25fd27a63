"""Follow-ups: `/incident followup | followups | reopen`, the Done and Change due date buttons, and the
due-date form."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from config.permissions import Permission
from domain.dates import parse_due
from domain.errors import IncidentError
from handlers import parse as p
from handlers.parse import clicked_number
from handlers.replies import quiet
from handlers.subcommands import Invocation
from handlers.wiring import Wiring, answer
from messages import followups as templates
from messages.help import error
from runtime import keys, logs
from runtime.clock import Clock
from runtime.ops import Asked, Command, Intake, Job
from runtime.slack_ops import SlackOps
from services.aftercare import Aftercare
from services.followups import Followups

FOLLOWUP_USAGE = [("<@owner> <YYYY-MM-DD|+3d|friday> <text>", "Add a follow-up with an owner and a due date")]
FOLLOWUPS_USAGE = [
    ("", "This incident's follow-ups (incident channel)"),
    ("mine", "Your open follow-ups across incidents, overdue first (any channel)"),
]
REOPEN_USAGE = [("<reason>", "Reopen a resolved incident: escalation and reminders start again")]


class AddFollowup(Command):
    """A follow-up of the channel's incident."""

    OP = "followup"
    channel: str
    owner: str
    due: date
    text: str


class Reopen(Command):
    """Back to work on the channel's resolved incident."""

    OP = "reopen"
    channel: str
    reason: str


class OfFollowup(Asked):
    """A change to one follow-up, in order with `channel` when it is known."""

    followup: int

    def order_key(self) -> str:
        return keys.channel(self.channel) if self.channel else keys.followup(self.followup)


class FollowupDone(OfFollowup):
    """The Done button (`channel`: where it was pressed)."""

    OP = "followup_done"
    trigger_id: str | None = None

    def idem_key(self) -> str | None:
        return keys.click(self.trigger_id)


class FollowupDue(OfFollowup):
    """The due-date form (`channel`: the follow-up's incident's, looked up when it was submitted)."""

    OP = "followup_due"
    due: date
    view_id: str | None = None
    view_hash: str | None = None

    def idem_key(self) -> str | None:
        return keys.form(self.view_id, self.view_hash)


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The three subcommands, the two buttons, the form, and their ops."""
    wiring.subcommands.add("followup", handler=add_followup, usage=FOLLOWUP_USAGE)
    wiring.subcommands.add("followups", handler=list_followups, usage=FOLLOWUPS_USAGE)
    wiring.subcommands.add("reopen", handler=reopen, usage=REOPEN_USAGE)
    wiring.answered(AddFollowup, run_followup, Permission.FOLLOWUP)
    wiring.answered(Reopen, run_reopen, Permission.REOPEN)
    wiring.op(FollowupDone, run_done)
    wiring.op(FollowupDue, run_change_due)
    app.action(templates.DONE_ACTION)(done_clicked)
    app.action(templates.DUE_ACTION)(due_clicked)
    app.view(templates.DUE_CALLBACK)(due_submitted)


async def add_followup(inv: Invocation, clock: Clock) -> None:
    """A follow-up of this channel's incident."""
    who, _, rest = inv.args.partition(" ")
    owner = p.parse_mention(who, "followup")
    due_word, _, text = rest.strip().partition(" ")
    try:
        due = parse_due(due_word, clock.now().date()) if due_word else None
    except ValueError as exc:
        raise p.UsageError(str(exc), "followup") from None
    if due is None:
        raise p.UsageError("When is it due? Give a date, like +3d or friday.", "followup")
    text = p.text_arg(text, "follow-up text", "followup")
    await inv.store(AddFollowup(**inv.asked(), owner=owner.user_id, due=due, text=text))


async def run_followup(job: Job[AddFollowup], followups: Followups) -> str | None:
    r = job.request
    return quiet(await followups.add(job.steps, r.channel, r.user, r.owner, r.due, r.text))


async def list_followups(inv: Invocation, followups: Followups, clock: Clock) -> None:
    """Read-only: answered after the ack."""
    await inv.ack()
    mine = inv.args.strip().lower() == "mine"

    async def work() -> str | None:
        today = clock.now().date()
        if mine:
            message = templates.followup_list("Your open follow-ups", await followups.mine(inv.user), today)
        else:
            message = templates.followup_list("Follow-ups", await followups.of_channel(inv.channel), today)
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())
        return None

    inv.later(work(), "followups")


async def reopen(inv: Invocation) -> None:
    """Back to work on a resolved incident."""
    await inv.store(Reopen(**inv.asked(), reason=p.text_arg(inv.args, "reason", "reopen")))


async def run_reopen(job: Job[Reopen], aftercare: Aftercare) -> str | None:
    r = job.request
    return quiet(await aftercare.reopen(job.steps, r.channel, r.reason, r.user))


async def done_clicked(ack: AsyncAck, body: dict[str, Any], intake: Intake) -> None:
    """Kept once per press, in order with the channel it was pressed in."""
    number = clicked_number(body)
    if number is not None:
        logs.bind(request_id=body.get("trigger_id"))
        request = FollowupDone(
            user=body["user"]["id"],
            response_url=body.get("response_url"),
            channel=(body.get("channel") or {}).get("id"),
            trigger_id=body.get("trigger_id"),
            followup=number,
        )
        await intake.keep(request)
    await ack()


async def due_clicked(ack: AsyncAck, body: dict[str, Any], followups: Followups, slack: SlackOps) -> None:
    """Open the due-date form for the owner or the commander; anyone else hears why not."""
    await ack()
    number = clicked_number(body)
    if number is None:
        return
    try:
        f = await followups.may_change(number, body["user"]["id"])
    except IncidentError as exc:
        if body.get("response_url"):
            await slack.respond(body["response_url"], error(str(exc)))
        return
    await slack.open_form(body["trigger_id"], templates.due_date_modal(f))


async def due_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    intake: Intake,
    followups: Followups,
    clock: Clock,
) -> None:
    """The form: a bad date shown in place, or the change kept once per submitted version, in order
    with everything else of the follow-up's incident."""
    state = view.get("state", {}).get("values", {})
    picked = (state.get(templates.DUE_BLOCK) or {}).get(templates.DUE_PICKER, {}).get("selected_date")
    try:
        due = parse_due(picked or "", clock.now().date())
    except ValueError as exc:
        await ack(response_action="errors", errors={templates.DUE_BLOCK: str(exc)})
        return
    number = int(view.get("private_metadata") or 0)
    request = FollowupDue(
        user=body["user"]["id"],
        channel=await followups.channel_of(number),
        followup=number,
        due=due,
        view_id=view.get("id") or body.get("trigger_id"),
        view_hash=view.get("hash"),
    )
    await intake.keep(request)
    await ack()


async def _may_change(
    job: Job[FollowupDone] | Job[FollowupDue], followups: Followups, slack: SlackOps
) -> bool:
    """The owner or the commander; anyone else hears why not."""
    try:
        await followups.may_change(job.request.followup, job.request.user)
    except IncidentError as exc:
        await answer(slack, job, error(str(exc)))
        return False
    return True


async def run_done(job: Job[FollowupDone], followups: Followups, slack: SlackOps) -> None:
    if await _may_change(job, followups, slack):
        await followups.set_done(job.steps, job.request.followup, True, job.request.user)


async def run_change_due(job: Job[FollowupDue], followups: Followups, slack: SlackOps) -> None:
    if await _may_change(job, followups, slack):
        await followups.change_due(job.steps, job.request.followup, job.request.due)
