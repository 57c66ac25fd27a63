"""The timeline: messages and reactions in incident channels (Events API), `/incident note | timeline |
postmortem`, and the postmortem draft shared in the channel.

Each event listener stores the event in the inbox (keyed by Slack's event_id, ordered by channel) and
returns; Bolt then answers 200. The worker carries the events out in order per channel, so an edit
never overtakes its message and a 📌 removed right after it was added leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from config.permissions import Permission
from config.policy import Policy
from handlers import parse as p
from handlers.replies import quiet
from handlers.subcommands import Invocation
from handlers.wiring import Wiring
from messages import timeline as templates
from runtime import keys, logs
from runtime.journal import Outcome, once
from runtime.ops import Command, Event, Intake, Job, MarkDone, Request
from runtime.slack_ops import SlackOps
from services.aftercare import Aftercare
from services.drafts import PostmortemDrafts
from services.permissions import Permissions
from services.timeline import PostedMessage, Timeline

# Message subtypes written by people; the rest (joins, topic changes, bot posts) are not transcript.
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}

NOTE_USAGE = [("<text>", "Add a line to the timeline, now (incident channel)")]
TIMELINE_USAGE = [("[share]", "Show the timeline to you, or post it with `share` (incident channel)")]
POSTMORTEM_USAGE = [
    ("", "Post the blameless postmortem draft as a Markdown file (incident channel)"),
    ("done <url>", "Record where the postmortem is: topic, announcement thread, export; reminders stop"),
]


class Posted(Request):
    """A message posted by a person (stored as the old `message` rows were: no channel of its own)."""

    OP = "message"
    event_id: str | None = None
    message: PostedMessage

    def order_key(self) -> str:
        return keys.channel(self.message.channel_id)

    def idem_key(self) -> str | None:
        return keys.event(self.event_id)


class Edited(Event):
    OP = "message_changed"
    ts: str
    text: str


class Deleted(Event):
    OP = "message_deleted"
    ts: str


class Reaction(Event):
    """A timeline emoji put on (or taken off) a message by `user`."""

    ts: str
    user: str
    emoji: str


class ReactionAdded(Reaction):
    OP = "reaction_added"


class ReactionRemoved(Reaction):
    OP = "reaction_removed"


class Note(Command):
    OP = "note"
    channel: str
    text: str


class ShareTimeline(Command):
    OP = "timeline_share"
    channel: str


class ShareDraft(Command):
    """Sharing the postmortem draft in the channel."""

    OP = "postmortem"
    channel: str


class PostmortemDone(Command):
    OP = "postmortem_done"
    channel: str
    url: str


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The message and reaction listeners, the three subcommands, and their ops."""
    app.event("message")(on_message)
    app.event("reaction_added")(on_reaction_added)
    app.event("reaction_removed")(on_reaction_removed)
    wiring.batch(Posted, run_posted)
    wiring.op(Edited, run_edited)
    wiring.op(Deleted, run_deleted)
    wiring.op(ReactionAdded, run_reaction_added)
    wiring.op(ReactionRemoved, run_reaction_removed)
    wiring.subcommands.add("note", handler=note, usage=NOTE_USAGE)
    wiring.subcommands.add("timeline", handler=show_timeline, usage=TIMELINE_USAGE)
    wiring.subcommands.add("postmortem", handler=postmortem, usage=POSTMORTEM_USAGE)
    wiring.answered(Note, run_note, Permission.NOTE)
    wiring.answered(ShareTimeline, run_share_timeline, Permission.TIMELINE)
    wiring.answered(ShareDraft, run_share_draft, Permission.TIMELINE)
    wiring.answered(PostmortemDone, run_postmortem_done, Permission.POSTMORTEM)


# Events


def _from_bot(message: dict[str, Any], bot_user_id: str | None) -> bool:
    return bool(message.get("bot_id")) or message.get("user") in (None, bot_user_id)


def message_request(body: dict[str, Any], event: dict[str, Any], bot_user_id: str | None) -> Request | None:
    """What a `message` event asks for: a message posted, edited or deleted; None when it is no
    person's message (a join, a topic change, a bot's post)."""
    channel, event_id = event.get("channel"), body.get("event_id")
    if not channel:
        return None
    subtype = event.get("subtype")
    if subtype == "message_changed":
        message = event.get("message") or {}
        if _from_bot(message, bot_user_id) or not message.get("ts"):
            return None
        return Edited(event_id=event_id, channel=channel, ts=message["ts"], text=message.get("text") or "")
    if subtype == "message_deleted":
        if not event.get("deleted_ts"):
            return None
        return Deleted(event_id=event_id, channel=channel, ts=event["deleted_ts"])
    if subtype in HUMAN_SUBTYPES and not _from_bot(event, bot_user_id):
        text, thread = event.get("text") or "", event.get("thread_ts")
        message = PostedMessage(channel, event["ts"], event["user"], text, thread)
        return Posted(event_id=event_id, message=message)
    return None


def reaction_request(
    kind: type[Reaction],
    body: dict[str, Any],
    event: dict[str, Any],
    bot_user_id: str | None,
    emoji: Collection[str],
) -> Reaction | None:
    """A person's timeline emoji on a message; None for any other reaction (nothing changes)."""
    item = event.get("item") or {}
    if item.get("type") != "message" or event.get("user") == bot_user_id:
        return None
    if event.get("reaction", "") not in emoji:
        return None
    return kind(
        event_id=body.get("event_id"),
        channel=item["channel"],
        ts=item["ts"],
        user=event["user"],
        emoji=event["reaction"],
    )


async def on_message(
    body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, intake: Intake
) -> None:
    logs.bind(event_id=body.get("event_id"))  # on every log line of this event's work
    request = message_request(body, event, context.bot_user_id)
    if request is not None:
        await intake.keep(request)


async def on_reaction_added(
    body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, intake: Intake, policy: Policy
) -> None:
    await _reaction(ReactionAdded, body, event, context, intake, policy)


async def on_reaction_removed(
    body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext, intake: Intake, policy: Policy
) -> None:
    await _reaction(ReactionRemoved, body, event, context, intake, policy)


async def _reaction(
    kind: type[Reaction],
    body: dict[str, Any],
    event: dict[str, Any],
    context: AsyncBoltContext,
    intake: Intake,
    policy: Policy,
) -> None:
    request = reaction_request(kind, body, event, context.bot_user_id, policy.timeline.emoji)
    if request is not None:
        logs.bind(event_id=body.get("event_id"))
        await intake.keep(request)


async def run_posted(jobs: list[Job[Posted]], mark_done: MarkDone, timeline: Timeline) -> None:
    """A run of posted messages: one transaction stores them all and marks them done."""
    await timeline.messages_posted([(j.request.event_id, j.request.message) for j in jobs], also=mark_done)


async def run_edited(job: Job[Edited], timeline: Timeline) -> None:
    r = job.request
    await timeline.message_edited(r.event_id, r.channel, r.ts, r.text)


async def run_deleted(job: Job[Deleted], timeline: Timeline) -> None:
    r = job.request
    await timeline.message_deleted(r.event_id, r.channel, r.ts)


async def run_reaction_added(job: Job[ReactionAdded], timeline: Timeline) -> None:
    r = job.request
    await timeline.reaction_added(r.event_id, r.channel, r.ts, r.user, r.emoji)


async def run_reaction_removed(job: Job[ReactionRemoved], timeline: Timeline) -> None:
    r = job.request
    await timeline.reaction_removed(r.event_id, r.channel, r.ts, r.user, r.emoji)


# Subcommands


async def note(inv: Invocation) -> None:
    """Add a timeline entry by the caller, now."""
    await inv.store(Note(**inv.asked(), text=p.text_arg(inv.args, "note text", "note")))


async def run_note(job: Job[Note], timeline: Timeline) -> None:
    r = job.request
    await timeline.note(job.steps, r.channel, r.user, r.text)


async def show_timeline(inv: Invocation, permissions: Permissions, timeline: Timeline) -> None:
    """Show the timeline to the caller, or to the channel with `share`."""
    arg = inv.args.strip().lower()
    if arg not in ("", "share"):
        raise p.UsageError(f"Unknown option `{inv.args.strip()}`.", "timeline")
    if arg == "share":
        await inv.store(ShareTimeline(**inv.asked()))
        return
    await inv.ack()

    async def work() -> None:
        await permissions.require(Permission.TIMELINE, inv.user, inv.channel)
        incident, entries, total = await timeline.shown(inv.channel)
        message = templates.timeline(incident, entries, total)
        await inv.respond(response_type="ephemeral", replace_original=False, **message.kwargs())

    inv.later(work(), "timeline")


async def run_share_timeline(job: Job[ShareTimeline], timeline: Timeline, slack: SlackOps) -> None:
    channel = job.request.channel
    incident, entries, total = await timeline.shown(channel)
    await Outcome(incident, job.steps).step(
        "post", lambda: slack.post(channel, templates.timeline(incident, entries, total))
    )


async def postmortem(inv: Invocation) -> None:
    """Post the postmortem draft as a Markdown file (or, failing that, as a message); `done <url>`
    records the written one."""
    word, _, url = inv.args.partition(" ")
    if word.lower() == "done":
        url = p.text_arg(p.unescape(url).strip("<>"), "address", "postmortem")
        await inv.store(PostmortemDone(**inv.asked(), url=url))
        return
    await inv.store(ShareDraft(**inv.asked()))


async def run_postmortem_done(job: Job[PostmortemDone], aftercare: Aftercare) -> str | None:
    r = job.request
    return quiet(await aftercare.postmortem_done(job.steps, r.channel, r.url, r.user))


async def run_share_draft(job: Job[ShareDraft], drafts: PostmortemDrafts) -> None:
    await once(job.steps, "shared", lambda: drafts.share(job.request.channel))
