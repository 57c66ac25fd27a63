"""`/incident note | timeline | postmortem`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from itertools import islice

from domain.records import Incident
from handlers import parse as p
from handlers.commands import Invocation, subcommand
from handlers.ops import allowed, answered
from handlers.replies import quiet
from messages import timeline as templates
from messages.blocks import Message, section
from runtime.inbox_worker import Job
from runtime.journal import Outcome, once
from runtime.slack_ops import SlackOpError
from services.exports import MarkdownFormat, export_data, whole
from services.workspace import WorkspaceServices

POSTED_CHUNKS = 10  # parts of the draft posted at most as messages when uploads are refused
CHUNK = 2900  # characters of the draft a message holds (a section holds 3,000)


@subcommand("note", usage=[("<text>", "Add a line to the timeline, now (incident channel)")])
async def note(inv: Invocation) -> None:
    """Add a timeline entry by the caller, now."""
    await inv.store("note", text=p.text_arg(inv.args, "note text", "note"))


@answered("note")
async def run_note(ctx: WorkspaceServices, job: Job) -> None:
    d = job.data
    await allowed(ctx, job, "note")
    await ctx.timeline.note(job.steps, d["channel"], d["user"], d["text"])


@subcommand(
    "timeline", usage=[("[share]", "Show the timeline to you, or post it with `share` (incident channel)")]
)
async def timeline(inv: Invocation) -> None:
    """Show the timeline to the caller, or to the channel with `share`."""
    arg = inv.args.strip().lower()
    if arg not in ("", "share"):
        raise p.UsageError(f"Unknown option `{inv.args.strip()}`.", "timeline")
    if arg == "share":
        await inv.store("timeline_share")
        return
    await inv.ack()

    async def work() -> None:
        await inv.ctx.permissions.require("timeline", inv.user, inv.channel)
        incident, entries, total = await inv.ctx.timeline.shown(inv.channel)
        message = templates.timeline(incident, entries, total)
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

    inv.later(work(), "timeline")


@answered("timeline_share")
async def run_timeline_share(ctx: WorkspaceServices, job: Job) -> None:
    await allowed(ctx, job, "timeline")
    channel = job.data["channel"]
    incident, entries, total = await ctx.timeline.shown(channel)
    await Outcome(incident, job.steps).step(
        "post", lambda: ctx.slack.post(channel, templates.timeline(incident, entries, total))
    )


@subcommand(
    "postmortem",
    usage=[
        ("", "Post the blameless postmortem draft as a Markdown file (incident channel)"),
        ("done <url>", "Record where the postmortem is: topic, announcement thread, export; reminders stop"),
    ],
)
async def postmortem(inv: Invocation) -> None:
    """Post the postmortem draft as a Markdown file (or, failing that, as a message); `done <url>`
    records the written one."""
    word, _, url = inv.args.partition(" ")
    if word.lower() == "done":
        await inv.store(
            "postmortem_done", url=p.text_arg(p.unescape(url).strip("<>"), "address", "postmortem")
        )
        return
    await inv.store("postmortem")


@answered("postmortem_done")
async def run_postmortem_done(ctx: WorkspaceServices, job: Job) -> str | None:
    await allowed(ctx, job, "postmortem")
    out = await ctx.aftercare.postmortem_done(
        job.steps, job.data["channel"], job.data["url"], job.data["user"]
    )
    return quiet(out)


@answered("postmortem")
async def run_postmortem(ctx: WorkspaceServices, job: Job) -> None:
    await allowed(ctx, job, "timeline")
    await once(job.steps, "shared", lambda: share_postmortem(ctx, job.data["channel"]))


async def share_postmortem(ctx: WorkspaceServices, channel_id: str) -> str | None:
    """Upload the draft, built page by page a slice at a time (the event loop is never held for more
    than a slice); when the workspace refuses uploads, post its first POSTED_CHUNKS parts as code
    blocks, and where to get all of it when there is more."""
    incident = await ctx.timeline.incident_or_refuse(channel_id, "postmortem")
    found = await export_data(ctx.db, ctx.team.team_id, incident)
    end = incident.resolved_at or ctx.clock.now()
    found.data = replace(found.data, oncall=await ctx.oncall.during(incident.declared_at, end))
    text = await whole(ctx.db, found, MarkdownFormat(found))
    filename = f"{incident.ref}-postmortem.md"
    try:
        await ctx.slack.upload_text(channel_id, filename, f"Postmortem draft · {incident.ref}", text)
        return None
    except SlackOpError as exc:
        fallback = exc.error
    for i, chunk in enumerate(islice(_chunks(text, CHUNK), POSTED_CHUNKS + 1)):
        if i == POSTED_CHUNKS:
            await ctx.slack.post(
                channel_id, templates.draft_too_long(incident, i, _download_url(ctx, incident))
            )
            break
        intro = (
            f"Postmortem draft for {incident.ref} (file upload not permitted: {fallback})" if i == 0 else ""
        )
        await ctx.slack.post(
            channel_id,
            Message(
                text=intro or f"{incident.ref} postmortem draft, continued",
                blocks=[section(f"```{chunk}```")],
            ),
        )
    return None


def _download_url(ctx: WorkspaceServices, incident: Incident) -> str | None:
    """The draft's download in the web view, when it is served at a known public address."""
    public = ctx.settings.incident_bot_public_url
    if not (ctx.settings.web_view and public):
        return None
    return f"{public.rstrip('/')}/ui/incidents/{incident.number}/postmortem.md"


def _chunks(text: str, size: int) -> Iterator[str]:
    """Split on line boundaries into pieces of at most `size` characters, as they are asked for."""
    current = ""
    for line in io.StringIO(text):
        while len(line) > size:
            if current:
                yield current
            current = ""
            yield line[:size]
            line = line[size:]
        if len(current) + len(line) > size:
            yield current
            current = ""
        current += line
    if current:
        yield current
