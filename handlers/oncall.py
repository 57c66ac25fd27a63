"""`/incident oncall [schedule]`, `oncall override …`, `oncall overrides [schedule]`."""

from __future__ import annotations

from datetime import timedelta

from slack_bolt.async_app import AsyncApp

from config.policy import Policy
from domain.errors import IncidentError
from domain.oncall import on_call, resolve_time, split_times
from handlers import parse as p
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from messages import oncall as templates
from messages.blocks import Message
from runtime.clock import Clock
from runtime.ops import Command, Job
from services.handoffs import Handoffs
from services.oncall import OnCall

AHEAD = timedelta(days=60)  # how far `oncall` looks for the next shift, and `overrides` lists
USAGE = [
    ("[schedule]", "Who is on call now and next, per schedule (times in your time zone)"),
    (
        "override <schedule> <@person> <start> <end>",
        "Put someone on call instead; times `now`, `+2h` or `YYYY-MM-DD HH:MM` (schedule's zone)",
    ),
    ("overrides [schedule]", "The upcoming overrides"),
    ("override cancel <id>", "Cancel an override"),
]


class Override(Command):
    """Someone on call instead, from `start` to `end`: each time as its words (`now`, `+2h`, or a date
    and a time), read in the schedule's zone when it is carried out."""

    OP = "oncall_override"
    schedule: str
    assignee: str
    start: list[str]
    end: list[str]


class CancelOverride(Command):
    """Cancelling an override, by its number."""

    OP = "oncall_cancel"
    override: int


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The subcommand and the two ops it stores."""
    wiring.subcommands.add("oncall", handler=oncall_command, usage=USAGE)
    wiring.answered(Override, run_override)
    wiring.answered(CancelOverride, run_cancel)


async def oncall_command(inv: Invocation, oncall: OnCall, policy: Policy, clock: Clock) -> None:
    """Read who is on call, or change it with an override."""
    words = inv.args.split()
    if words[:1] == ["override"] and words[1:2] == ["cancel"]:
        if len(words) != 3 or not words[2].lstrip("#").isdigit():
            raise p.UsageError("Which override? Give its number from `/incident oncall overrides`.", "oncall")
        await inv.store(CancelOverride(**inv.asked(), override=int(words[2].lstrip("#"))))
        return
    if words[:1] == ["override"]:
        if len(words) < 4:
            raise p.UsageError("Give a schedule, a person, a start and an end.", "oncall")
        mention = p.parse_mention(words[2], "oncall")
        try:
            start, end = split_times(words[3:])
        except ValueError as exc:
            raise p.UsageError(str(exc), "oncall") from None
        request = Override(**inv.asked(), schedule=words[1], assignee=mention.user_id, start=start, end=end)
        await inv.store(request)
        return
    await inv.ack()
    if words[:1] == ["overrides"]:
        inv.later(_overrides(oncall, clock, words[1] if len(words) > 1 else None), "oncall overrides")
        return
    if len(words) > 1:
        raise IncidentError("`/incident oncall` takes one schedule name at most.")
    inv.later(_now(oncall, policy, clock, words[0] if words else None), "oncall")


async def run_override(job: Job[Override], oncall: OnCall, handoffs: Handoffs) -> str:
    r = job.request
    schedule = oncall.schedule(r.schedule)
    start = resolve_time(r.start, schedule.tz, job.steps.at)
    end = resolve_time(r.end, schedule.tz, job.steps.at, since=start)
    if end <= start:
        raise IncidentError("The override must end after it starts.")
    if end <= job.steps.at:
        raise IncidentError("That override would already be over.")
    row = await oncall.add_override(job.steps, schedule.name, r.assignee, start, end, r.user)
    handoffs.replan()
    return templates.override_added(row)


async def run_cancel(job: Job[CancelOverride], oncall: OnCall, handoffs: Handoffs) -> str:
    row = await oncall.cancel_override(job.steps, job.request.override, job.request.user)
    handoffs.replan()
    return f"Override `#{row.id}` of *{row.schedule}* (<@{row.user}>) is cancelled."


async def _overrides(oncall: OnCall, clock: Clock, name: str | None) -> str:
    if name is not None:
        oncall.schedule(name)  # refuses an unknown name
    now = clock.now()
    rows = await oncall.overrides(name, now, now + AHEAD)
    return templates.overrides(rows, name).text if not rows else _blocks_text(templates.overrides(rows, name))


def _blocks_text(message: Message) -> str:
    return "\n".join(b["text"]["text"] for b in message.blocks if b.get("type") == "section")


async def _now(oncall: OnCall, policy: Policy, clock: Clock, name: str | None) -> str:
    names = [oncall.schedule(name).name] if name else [s.name for s in policy.schedules]
    now = clock.now()
    rows = []
    for schedule in names:
        shifts = await oncall.shifts(schedule, now - timedelta(seconds=1), now + AHEAD)
        current = on_call(shifts, now)
        ends = [s.end for s in shifts if s.start <= now < s.end]
        until = min(ends) if ends else None
        later = on_call(shifts, until) if until else ()
        next_ends = [s.end for s in shifts if until and s.start <= until < s.end]
        rows.append(
            templates.OnCallRow(schedule, current, until, later, min(next_ends) if next_ends else None)
        )
    return _blocks_text(templates.oncall_now(rows)) if rows else templates.oncall_now(rows).text
