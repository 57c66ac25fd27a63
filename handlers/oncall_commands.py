"""`/incident oncall [schedule]`, `oncall override …`, `oncall overrides [schedule]`."""

from __future__ import annotations

from datetime import timedelta

from domain.errors import IncidentError
from domain.oncall import on_call, resolve_time, split_times
from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.ops import answered
from messages import oncall as templates
from messages.blocks import Message
from runtime.inbox_worker import Job
from services.workspace import WorkspaceServices

AHEAD = timedelta(days=60)  # how far `oncall` looks for the next shift, and `overrides` lists


@subcommand(
    "oncall",
    usage=[
        ("[schedule]", "Who is on call now and next, per schedule (times in your time zone)"),
        (
            "override <schedule> <@person> <start> <end>",
            "Put someone on call instead; times `now`, `+2h` or `YYYY-MM-DD HH:MM` (schedule's zone)",
        ),
        ("overrides [schedule]", "The upcoming overrides"),
        ("override cancel <id>", "Cancel an override"),
    ],
)
async def oncall(inv: Invocation) -> None:
    """Read who is on call, or change it with an override."""
    words = inv.args.split()
    if words[:1] == ["override"] and words[1:2] == ["cancel"]:
        if len(words) != 3 or not words[2].lstrip("#").isdigit():
            raise p.UsageError("Which override? Give its number from `/incident oncall overrides`.", "oncall")
        await inv.store("oncall_cancel", override=int(words[2].lstrip("#")))
        return
    if words[:1] == ["override"]:
        if len(words) < 4:
            raise p.UsageError("Give a schedule, a person, a start and an end.", "oncall")
        mention = p.parse_mention(words[2], "oncall")
        try:
            start, end = split_times(words[3:])
        except ValueError as exc:
            raise p.UsageError(str(exc), "oncall") from None
        await inv.store("oncall_override", schedule=words[1], assignee=mention.user_id, start=start, end=end)
        return
    await inv.ack()
    if words[:1] == ["overrides"]:
        inv.later(_overrides(inv.ctx, words[1] if len(words) > 1 else None), "oncall overrides")
        return
    if len(words) > 1:
        raise IncidentError("`/incident oncall` takes one schedule name at most.")
    inv.later(_now(inv.ctx, words[0] if words else None), "oncall")


@answered("oncall_override")
async def run_override(ctx: WorkspaceServices, job: Job) -> str:
    d = job.data
    schedule = ctx.oncall.schedule(d["schedule"])
    start = resolve_time(d["start"], schedule.tz, job.steps.at)
    end = resolve_time(d["end"], schedule.tz, job.steps.at, since=start)
    if end <= start:
        raise IncidentError("The override must end after it starts.")
    if end <= job.steps.at:
        raise IncidentError("That override would already be over.")
    row = await ctx.oncall.add_override(job.steps, schedule.name, d["assignee"], start, end, d["user"])
    ctx.handoffs.replan()
    return templates.override_added(row)


@answered("oncall_cancel")
async def run_cancel(ctx: WorkspaceServices, job: Job) -> str:
    row = await ctx.oncall.cancel_override(job.steps, job.data["override"], job.data["user"])
    ctx.handoffs.replan()
    return f"Override `#{row.id}` of *{row.schedule}* (<@{row.user}>) is cancelled."


async def _overrides(ctx: WorkspaceServices, name: str | None) -> str:
    if name is not None:
        ctx.oncall.schedule(name)  # refuses an unknown name
    now = ctx.clock.now()
    rows = await ctx.oncall.overrides(name, now, now + AHEAD)
    return templates.overrides(rows, name).text if not rows else _blocks_text(templates.overrides(rows, name))


def _blocks_text(message: Message) -> str:
    return "\n".join(b["text"]["text"] for b in message.blocks if b.get("type") == "section")


async def _now(ctx: WorkspaceServices, name: str | None) -> str:
    names = [ctx.oncall.schedule(name).name] if name else [s.name for s in ctx.policy.schedules]
    now = ctx.clock.now()
    rows = []
    for schedule in names:
        shifts = await ctx.oncall.shifts(schedule, now - timedelta(seconds=1), now + AHEAD)
        current = on_call(shifts, now)
        ends = [s.end for s in shifts if s.start <= now < s.end]
        until = min(ends) if ends else None
        later = on_call(shifts, until) if until else ()
        next_ends = [s.end for s in shifts if until and s.start <= until < s.end]
        rows.append(
            templates.OnCallRow(schedule, current, until, later, min(next_ends) if next_ends else None)
        )
    return _blocks_text(templates.oncall_now(rows)) if rows else templates.oncall_now(rows).text
